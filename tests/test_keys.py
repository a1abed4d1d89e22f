from cryptography.fernet import Fernet
from sqlalchemy import select

from connhub.keys import reseal_tokens
from connhub.models import Connection, OAuthFlow
from connhub.oauth import begin_authorization
from tests.support.connect import connect, make_user


def test_after_resealing_the_old_key_can_be_retired(make_rt):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = make_rt(CONNHUB_SECRET_KEY=old)
    alice = make_user(before, "alice")
    connect(before, alice, "vk")
    connect(before, alice, "evotor")
    begin_authorization(before, user_id=alice.id, provider="vk")
    with before.sessions() as session:
        tokens = {row.id: before.cipher.open(row.access_token_sealed) for row in session.scalars(select(Connection))}

    assert reseal_tokens(make_rt(CONNHUB_SECRET_KEY=f"{new},{old}")).rewritten == 2 + 3  # connections + flows

    after = make_rt(CONNHUB_SECRET_KEY=new)
    with after.sessions() as session:
        rows = session.scalars(select(Connection)).all()
        assert {row.id: after.cipher.open(row.access_token_sealed) for row in rows} == tokens
        refresh_tokens = [row.refresh_token_sealed for row in rows if row.refresh_token_sealed]
        assert refresh_tokens and all(after.cipher.open(sealed) for sealed in refresh_tokens)
        flows = session.scalars(select(OAuthFlow)).all()
        assert flows and all(after.cipher.open(flow.code_verifier_sealed) for flow in flows)
