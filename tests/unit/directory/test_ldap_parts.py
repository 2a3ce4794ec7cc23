"""The LDAP source's pure parts: filter escaping, nested-group filters, AD's disabled bit,
user names, the settings' checks, when a membership is due, the source registry."""

from __future__ import annotations

import pytest

from orch.config import Settings
from orch.directory import Directory, ExternalIdentity, PasswordSource, is_due
from orch.directory.ldap import (
    AD_CAPABILITY,
    AD_GROUP_FILTER,
    DEFAULT_GROUP_FILTER,
    LdapClient,
    LdapConfig,
    LdapSource,
    group_filter,
    is_disabled,
    user_filter,
    user_name,
)
from orch.directory.store import ADMINS, _memberships
from orch.errors import ConfigError

TEMPLATE = Settings().ldap_user_filter


@pytest.mark.parametrize(("typed", "value"), [
    ("alice", "alice"),
    ("*", "\\2a"),
    ("*)(uid=*", "\\2a\\29\\28uid=\\2a"),
    ("a\\b", "a\\5cb"),
    ("nul\x00", "nul\\00"),
])
def test_user_filter_escapes_the_typed_name(typed: str, value: str) -> None:
    flt = user_filter(TEMPLATE, typed)
    assert flt == f"(|(uid={value})(sAMAccountName={value})(userPrincipalName={value}))"
    assert "*" not in flt


def test_group_filters_for_one_and_several_members() -> None:
    dn = "uid=a(1),ou=people,dc=x"
    assert group_filter(DEFAULT_GROUP_FILTER, [dn]) == (
        "(|(member=uid=a\\281\\29,ou=people,dc=x)(uniqueMember=uid=a\\281\\29,ou=people,dc=x))")
    both = group_filter("(member={dn})", ["cn=a,dc=x", "cn=b,dc=x"])
    assert both == "(|(member=cn=a,dc=x)(member=cn=b,dc=x))"
    assert group_filter(AD_GROUP_FILTER, ["cn=u,dc=x"]) == (
        "(member:1.2.840.113556.1.4.1941:=cn=u,dc=x)")


@pytest.mark.parametrize(("attributes", "disabled"), [
    ({}, False),
    ({"userAccountControl": ["512"]}, False),          # NORMAL_ACCOUNT
    ({"userAccountControl": ["514"]}, True),           # + ACCOUNTDISABLE
    ({"useraccountcontrol": 66050}, True),             # any case; DONT_EXPIRE + disabled
    ({"userAccountControl": [66048]}, False),
    ({"userAccountControl": ["garbage"]}, True),       # unreadable: not trusted
])
def test_ad_disabled_bit(attributes: dict[str, object], disabled: bool) -> None:
    assert is_disabled(attributes) is disabled


def test_user_name_prefers_sam_account_name_then_uid() -> None:
    assert user_name({"sAMAccountName": ["jdoe"], "uid": ["x"]}, "jdoe@corp") == "jdoe"
    assert user_name({"uid": ["alice"]}, "Alice") == "alice"
    assert user_name({}, "typed") == "typed"


def test_a_directory_group_named_admins_never_makes_an_admin() -> None:
    person = ExternalIdentity(source="ldap", subject="dn", name="x", groups=("admins", "ops"))
    assert _memberships(person) == ["ops"]
    admin = ExternalIdentity(source="ldap", subject="dn", name="x", groups=("ops",),
                             is_admin=True)
    assert _memberships(admin) == ["ops", ADMINS]


def test_due_after_the_refresh_interval_only() -> None:
    assert not is_due(299.9, 300.0)
    assert is_due(300.0, 300.0)
    assert not is_due(10**9, None)  # a source that never refreshes


@pytest.mark.parametrize(("env", "path"), [
    ({"ORCH_LDAP_URL": "http://dc1"}, "ORCH_LDAP_URL"),
    ({"ORCH_LDAP_URL": "ldaps://dc1", "ORCH_LDAP_STARTTLS": "true"}, "ORCH_LDAP_STARTTLS"),
    ({"ORCH_LDAP_URL": "ldap://dc1", "ORCH_LDAP_STARTTLS": "maybe"}, "ORCH_LDAP_STARTTLS"),
    ({"ORCH_LDAP_URL": "ldap://dc1", "ORCH_LDAP_USER_FILTER": "(uid=x)"},
     "ORCH_LDAP_USER_FILTER"),
    ({"ORCH_LDAP_URL": "ldap://dc1", "ORCH_LDAP_GROUP_FILTER": "(member=x)"},
     "ORCH_LDAP_GROUP_FILTER"),
    ({"ORCH_LDAP_URL": "ldap://dc1", "ORCH_LDAP_CA_FILE": "/no/such/ca.pem"},
     "ORCH_LDAP_CA_FILE"),
    ({"ORCH_LDAP_URL": "ldap://dc1", "ORCH_LDAP_REFRESH_SECONDS": "0"},
     "ORCH_LDAP_REFRESH_SECONDS"),
    ({"ORCH_LDAP_URL": "ldap://dc1", "ORCH_LDAP_TIMEOUT_SECONDS": "x"},
     "ORCH_LDAP_TIMEOUT_SECONDS"),
])
def test_bad_ldap_settings_name_the_variable(env: dict[str, str], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.path == path


def test_ldap_settings_from_the_environment() -> None:
    settings = Settings.from_env({
        "ORCH_LDAP_URL": "ldaps://dc1.corp:636  ldaps://dc2.corp",
        "ORCH_LDAP_ADMIN_GROUPS": "Orch Admins, ops-leads,",
        "ORCH_LDAP_REFRESH_SECONDS": "60",
    })
    assert settings.ldap_url == ("ldaps://dc1.corp:636", "ldaps://dc2.corp")
    assert settings.ldap_admin_groups == ("Orch Admins", "ops-leads")
    assert settings.ldap_refresh_seconds == 60.0 and settings.ldap_timeout_seconds == 5.0
    assert "{name}" in settings.ldap_user_filter and settings.ldap_group_filter is None


async def test_directory_from_settings() -> None:
    assert not Directory.from_settings(Settings())
    directory = Directory.from_settings(Settings(ldap_url=("ldap://127.0.0.1:1",)))
    source = directory.get("ldap")
    assert isinstance(source, LdapSource) and isinstance(source, PasswordSource)
    assert directory.password_sources() == [source]
    assert source.description == "LDAP ldap://127.0.0.1:1"
    with pytest.raises(ValueError, match="added twice"):
        directory.add(source)
    await directory.close()


class _RecordingClient(LdapClient):
    """The client's group logic over canned search answers (no Active Directory here:
    the real-server tests run on OpenLDAP, whose root DSE never says AD)."""

    def __init__(self, root_dse: dict[str, object], answers: dict[str, list[str]]) -> None:
        super().__init__(LdapConfig(urls=("ldap://dc1",), group_base="dc=corp"))
        self.root_dse, self.answers, self.filters = root_dse, answers, []

    def _search(self, conn, base, flt, attributes, scope=None, size_limit=0):  # type: ignore[no-untyped-def, override]
        if base == "":
            return [("", self.root_dse)]
        self.filters.append(flt)
        return [(dn, {"cn": [dn.split(",")[0][3:]]}) for dn in self.answers.get(flt, [])]


def test_active_directory_uses_one_in_chain_search() -> None:
    flt = "(member:1.2.840.113556.1.4.1941:=cn=u,dc=corp)"
    client = _RecordingClient({"supportedCapabilities": [AD_CAPABILITY]},
                              {flt: ["cn=ops,dc=corp", "cn=all-staff,dc=corp"]})
    assert client._groups(None, "cn=u,dc=corp") == ["all-staff", "ops"]  # type: ignore[arg-type]
    assert client.filters == [flt] and client.server_kind == "Active Directory"


def test_other_servers_walk_nested_groups_level_by_level() -> None:
    level1 = group_filter(DEFAULT_GROUP_FILTER, ["cn=u,dc=corp"])
    level2 = group_filter(DEFAULT_GROUP_FILTER, ["cn=devs,dc=corp"])
    level3 = group_filter(DEFAULT_GROUP_FILTER, ["cn=eng,dc=corp"])
    client = _RecordingClient({}, {level1: ["cn=devs,dc=corp"], level2: ["cn=eng,dc=corp"],
                                   level3: ["cn=devs,dc=corp"]})  # a cycle back to devs
    assert client._groups(None, "cn=u,dc=corp") == ["devs", "eng"]  # type: ignore[arg-type]
    assert client.filters == [level1, level2, level3] and client.server_kind == "LDAP"
