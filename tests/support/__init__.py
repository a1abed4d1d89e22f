"""What the tests share, one concern per module (fixtures stay in the conftest files).

    sandbox.py   settings pointed at a sandbox, a checker process's environment, demo accounts
                 as the sandbox itself reports them
    consent.py   the sandbox consent page, answered like a browser would
    connect.py   connecting a provider through the real OAuth flow, or seeding a connection row
"""
