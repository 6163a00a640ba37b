"""People and their credentials, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from spoor.db.schema import users
from spoor.users import (
    Role,
    UserError,
    add_user,
    authenticate,
    change_password,
    create_token,
    get_user,
    list_tokens,
    revoke_token,
    update_user,
    user_for_token,
)

PASSWORD = "correct horse battery"


def test_passwords_are_argon2_hashes_and_check_out(engine: Engine) -> None:
    with engine.begin() as conn:
        user = add_user(conn, " Ada@Example.COM ", PASSWORD, Role.ADMIN, 1, "Ada")
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
        assert user.email == "ada@example.com"
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored
        assert authenticate(conn, "ADA@example.com", PASSWORD) == user
        assert authenticate(conn, "ada@example.com", "wrong password") is None
        assert authenticate(conn, "nobody@example.com", PASSWORD) is None


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-address", PASSWORD, "is not an e-mail address"),
        ("a@example.com", "short", "at least 10 characters"),
        ("taken@example.com", PASSWORD, "already exists"),
    ],
)
def test_bad_users_are_refused(engine: Engine, email: str, password: str, message: str) -> None:
    with engine.begin() as conn:
        add_user(conn, "taken@example.com", PASSWORD, Role.REP, 1)
        with pytest.raises(UserError, match=message):
            add_user(conn, email, password, Role.REP, 1)


def test_roles_nest() -> None:
    assert Role.ADMIN.allows(Role.MANAGER)
    assert Role.MANAGER.allows(Role.REP)
    assert not Role.REP.allows(Role.MANAGER)
    assert not Role.MANAGER.allows(Role.ADMIN)


def test_disabled_users_cannot_sign_in_and_the_last_admin_stays(engine: Engine) -> None:
    with engine.begin() as conn:
        admin = add_user(conn, "admin@example.com", PASSWORD, Role.ADMIN, 1)
        rep = add_user(conn, "rep@example.com", PASSWORD, Role.REP, 1)
        with pytest.raises(UserError, match="only active admin"):
            update_user(conn, admin.id, role=Role.REP)
        with pytest.raises(UserError, match="only active admin"):
            update_user(conn, admin.id, disabled=True)
        update_user(conn, rep.id, disabled=True)
        assert authenticate(conn, "rep@example.com", PASSWORD) is None
        update_user(conn, rep.id, role=Role.ADMIN, disabled=False)
        update_user(conn, admin.id, role=Role.MANAGER)  # another admin exists now
        changed = get_user(conn, admin.id)
        assert changed is not None
        assert changed.role == Role.MANAGER


def test_a_password_change_moves_the_session_epoch(engine: Engine) -> None:
    with engine.begin() as conn:
        user = add_user(conn, "rep@example.com", PASSWORD, Role.REP, 1)
        with pytest.raises(UserError, match="not right"):
            change_password(conn, user, "wrong password", "a new long password")
        change_password(conn, user, PASSWORD, "a new long password")
        after = get_user(conn, user.id)
        assert after is not None
        assert after.session_epoch == user.session_epoch + 1
        assert authenticate(conn, "rep@example.com", "a new long password") is not None


def test_tokens_work_until_revoked_and_only_by_their_owner_or_an_admin(engine: Engine) -> None:
    with engine.begin() as conn:
        rep = add_user(conn, "rep@example.com", PASSWORD, Role.REP, 1)
        other = add_user(conn, "other@example.com", PASSWORD, Role.REP, 1)
        admin = add_user(conn, "admin@example.com", PASSWORD, Role.ADMIN, 1)
        token = create_token(conn, rep.id, "CRM", 5)
        assert token.startswith("spoor_")
        assert user_for_token(conn, token, 9) == rep
        assert user_for_token(conn, token + "x", 9) is None
        (listed,) = list_tokens(conn, rep.id)
        assert listed.last_used_at == 9
        assert token.startswith(listed.prefix)
        assert not revoke_token(conn, listed.id, other)
        assert revoke_token(conn, listed.id, admin)
        assert user_for_token(conn, token, 10) is None
        with pytest.raises(UserError, match="needs a name"):
            create_token(conn, rep.id, "  ", 5)
