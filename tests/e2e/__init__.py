"""The browser suite: the real product driven in headless Chromium."""
