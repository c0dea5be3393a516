"""The embedded reference deployment: real parts started on this machine, with drift switches."""
