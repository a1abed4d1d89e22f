"""A toy third provider, defined only in the test tree: proof that a provider is a plug-in.

`provider.py` is its client (settings, presentation, checks) and `sandbox.py` its emulation. A test
registers it (`connhub.providers.registry.register`) and every generic part of connhub picks it up:
the add page, the callback, the checker, the service page, the sandbox. Nothing outside tests/
names it.
"""
