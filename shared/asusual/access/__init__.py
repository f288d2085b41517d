"""Who may call us: sources (one channel system each), API keys with scopes, request throttling.

Every API authenticates, so this package sits with the kernel: rules may import it; it imports
only the kernel (clock-free: ``now`` is always passed in)."""
