"""What the tests share, one concern per module (fixtures stay in the conftest files; nothing is
imported from a conftest or a test module).

    sandbox.py   settings pointed at a sandbox, a checker process's environment, demo accounts
                 as the sandbox itself reports them
    consent.py   the sandbox consent page, answered like a browser would
    connect.py   connecting a provider through the real OAuth flow, or seeding a connection row
    checker.py   the real checker as a process (run to the end, or started and read line by line),
                 connections seeded as stored, a provider environment for a hostile server
    catalog.py   a scripted catalog source and its products and refusals
    sync.py      seeding a user's catalog, connections and sync configuration
    goods.py     a user ready to sync against the sandbox's VK goods; VK connected with a token
    images.py    images made on the spot
    imports.py   connhub's import graph read with ast (the architecture test; `make figures`)
"""
