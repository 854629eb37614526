"""Settings for the test suite: the normal settings with a throwaway key and fast hashing."""

import os

os.environ.setdefault("PATRON_ALLOW_INSECURE_KEY", "1")

from patron.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
