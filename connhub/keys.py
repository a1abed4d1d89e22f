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
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from sqlalchemy import select

from connhub.config import ConfigError
from connhub.db import write_locked
from connhub.models import Connection, NotifyChannel, OAuthFlow
from connhub.runtime import Runtime


@dataclass
class ResealReport:
    rewritten: int = 0  # rows whose sealed values are now under the primary key
    unreadable: list[str] = field(default_factory=list)  # "connections id=7: access_token_sealed", ...


def reseal_tokens(rt: Runtime, *, batch: int = 500) -> ResealReport:
    """Re-seal tokens and PKCE verifiers in batches.

    A row that no listed key opens is named in the report and left as it is; the others are
    re-sealed all the same."""
    report = ResealReport()
    for model, columns in ((Connection, ("access_token_sealed", "refresh_token_sealed")),
                           (OAuthFlow, ("code_verifier_sealed",)),
                           (NotifyChannel, ("target_sealed",))):  # lane notify: channels' Apprise URLs
        key_column = {OAuthFlow: OAuthFlow.state, NotifyChannel: NotifyChannel.id}.get(model, Connection.id)
        after = None
        while True:
            with write_locked(rt.sessions) as session:
                query = select(model).order_by(key_column).limit(batch)
                if after is not None:
                    query = query.where(key_column > after)
                rows = session.scalars(query).all()
                for row in rows:
                    fresh, bad = {}, []
                    for column in columns:
                        sealed = getattr(row, column)
                        if not sealed:
                            continue
                        try:
                            fresh[column] = rt.cipher.reseal(sealed)
                        except InvalidToken:
                            bad.append(column)
                    if bad:
                        where = f"{model.__tablename__} {key_column.key}={getattr(row, key_column.key)}"
                        report.unreadable.append(f"{where}: {', '.join(bad)}")
                        continue
                    for column, value in fresh.items():
                        setattr(row, column, value)
                    report.rewritten += 1
                session.commit()
            if not rows:
                break
            after = getattr(rows[-1], key_column.key)
    return report


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
        report = reseal_tokens(rt)
    finally:
        rt.close()
    print(f"re-sealed {report.rewritten} rows under the primary key")
    if report.unreadable:
        print(f"{len(report.unreadable)} row(s) could not be opened with any key in CONNHUB_SECRET_KEY and were "
              "left as they are (add the key they were sealed with, or let their users reconnect):", file=sys.stderr)
        for row in report.unreadable:
            print(f"  {row}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
