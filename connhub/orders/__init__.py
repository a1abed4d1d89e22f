"""Buyers' orders in the user's VK community, read and told (issue 20, point 4).

    poller.py   one poll of a user's community: new orders stored, each a journal event (and a notice)
    worker.py   the sidecar's worker: polls the communities that are due
    service.py  the «Заказы» page's door: the orders, their lines matched back to Evotor products
"""
