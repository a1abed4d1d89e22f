"""Who is an administrator: one function decides (connhub.admin.access.is_admin)."""

from __future__ import annotations

import pytest

from connhub.admin.access import Actor, NotAdmin, actor_from_claims, groups_from_claim, is_admin, require_admin
from connhub.runtime import load_settings
from connhub.users import LOCAL_SUBJECT, UserView

SETTINGS = load_settings(ADMIN_EMAILS=" Alice@Example.test ,root@example.test,", ADMIN_GROUPS_CLAIM="groups",
                         ADMIN_GROUPS="connhub-admins, ops")


def user(email: str, subject: str = "oidc:x") -> UserView:
    return UserView(id=1, subject=subject, email=email, name="")


def test_a_listed_email_is_an_administrator_whatever_its_case():
    assert is_admin(user("alice@example.TEST"), SETTINGS)
    assert is_admin(user("root@example.test"), SETTINGS)


def test_an_unlisted_email_or_none_is_not():
    assert not is_admin(user("bob@example.test"), SETTINGS)
    assert not is_admin(user(""), SETTINGS)
    assert not is_admin(user("alice@example.test.evil"), SETTINGS)


def test_an_email_the_identity_provider_says_is_unverified_does_not_count():
    actor = actor_from_claims(user("alice@example.test"), {"email_verified": False}, SETTINGS)
    assert not is_admin(actor, SETTINGS)
    assert is_admin(actor_from_claims(user("alice@example.test"), {"email_verified": True}, SETTINGS), SETTINGS)


@pytest.mark.parametrize("claim, admin", [
    (["staff", "connhub-admins"], True), ("staff, ops", True), (["staff"], False), ("", False),
    (None, False), ({"connhub-admins": True}, False), ([["connhub-admins"]], False),
])
def test_the_group_claim_makes_an_administrator(claim, admin):
    actor = actor_from_claims(user("bob@example.test"), {"groups": claim}, SETTINGS)
    assert is_admin(actor, SETTINGS) is admin


def test_the_group_claim_counts_only_when_a_claim_name_is_set():
    settings = load_settings(ADMIN_GROUPS="connhub-admins")
    actor = Actor(user("bob@example.test"), groups=frozenset({"connhub-admins"}))
    assert not is_admin(actor, settings)


def test_the_local_operator_is_an_administrator_and_nobody_is_by_default():
    assert is_admin(user("", subject=LOCAL_SUBJECT), load_settings())
    assert not is_admin(user("alice@example.test"), load_settings())
    assert not is_admin(user("", subject="oidc:local"), load_settings())  # an IdP subject named "local"


def test_groups_from_claim_reads_lists_and_comma_strings():
    assert groups_from_claim(["a", " b ", 3]) == {"a", "b", "3"}
    assert groups_from_claim("a, b,,") == {"a", "b"}
    assert groups_from_claim(None) == frozenset()


def test_require_admin_refuses_everyone_else():
    with pytest.raises(NotAdmin):
        require_admin(user("bob@example.test"), SETTINGS)
    assert require_admin(user("alice@example.test"), SETTINGS).user.email == "alice@example.test"
