"""The gate: the decision to open (allow-list, open-all, log-only; fail closed) and the relay
drivers that pulse the barrier. It decides from read events and the allow-list; it never reads
images."""
