"""The ports: the types the domain and the providers speak in, below everything else.

Nothing here imports the rest of connhub. The catalog and the sync import only these; a provider
implements them in its own folder and declares which it offers (`connhub.providers.capabilities`).

- `errors.py`  `ProviderError`, what every provider call can go wrong with
- `text.py`    provider text made safe to store, log and show (what `ProviderError` needs)
- `catalog.py` what a catalog provider hands the refresh engine (stores, groups, products)
- `images.py`  what the sync asks for a product's image
- `goods.py`   `GoodsTarget`: a shop's goods (communities, categories, items, photos) and its
               error kinds as data
"""
