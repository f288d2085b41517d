"""Segments: the marketer's rules over profiles (docs: issue "Segments, campaigns and holdouts")."""
