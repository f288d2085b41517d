"""Profiles: the state of one person, built from their events so that any delivery order, with
any duplicates, gives the same profile; and the view channels read to greet and prefill."""
