"""Key rotation: re-seal every stored secret under the primary key.

    CONNHUB_SECRET_KEY="<new key>,<old key>" python -m connhub.keys reseal

Tokens sealed with any listed key keep opening, so the app and the checker work throughout;
once this has run, every token is sealed with the first key and the old one can be removed
from CONNHUB_SECRET_KEY. Tokens that are refreshed get re-sealed on their own, but an Evotor
cloud token never is, so without this the old key could never be retired.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select

from connhub.config import ConfigError
from connhub.db import write_locked
from connhub.models import Connection, OAuthFlow
from connhub.runtime import Runtime


def reseal_tokens(rt: Runtime, *, batch: int = 500) -> int:
    """Re-seal tokens and PKCE verifiers in batches; returns how many rows were rewritten."""
    rewritten = 0
    for model, columns in ((Connection, ("access_token_sealed", "refresh_token_sealed")),
                           (OAuthFlow, ("code_verifier_sealed",))):
        key_column = Connection.id if model is Connection else OAuthFlow.state
        after = None
        while True:
            with write_locked(rt.sessions) as session:
                query = select(model).order_by(key_column).limit(batch)
                if after is not None:
                    query = query.where(key_column > after)
                rows = session.scalars(query).all()
                for row in rows:
                    for column in columns:
                        sealed = getattr(row, column)
                        if sealed:
                            setattr(row, column, rt.cipher.reseal(sealed))
                session.commit()
            if not rows:
                break
            rewritten += len(rows)
            after = getattr(rows[-1], key_column.key)
    return rewritten


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connhub.keys", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["reseal"])
    parser.parse_args(argv)
    try:
        rt = Runtime.from_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        print(f"re-sealed {reseal_tokens(rt)} rows under the primary key")
    finally:
        rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
