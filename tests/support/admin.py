"""Administrators for the tests: alice by e-mail (in a different case), root, and a group claim."""

ADMIN_SETTINGS = dict(ADMIN_EMAILS="Alice@Example.test, root@example.test", ADMIN_GROUPS_CLAIM="groups",
                      ADMIN_GROUPS="connhub-admins")
