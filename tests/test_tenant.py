"""Tenant files are checked at load and fail naming the file and the key."""

from pathlib import Path

import pytest

from mailwarden.tenant import TenantConfigError, default_tenant, load_tenant


def test_embedded_default_tenant_loads_with_people_and_roles() -> None:
    tenant = default_tenant()
    assert tenant.is_internal_domain("mail.example.com")
    assert not tenant.is_internal_domain("example.com.evil.net")
    ceo = tenant.person_by_name("Whitfield, Dana")
    assert ceo is not None and "vip" in ceo.roles


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id: x\ndomains: []\n", "domains"),
        ("id: x\ndomains: [a.com]\nthresholds: {suspicious: 9, malicious: 4}\n", "thresholds"),
        ("id: x\ndomains: [a.com]\npeople: [{name: A, addresses: [nope]}]\n", "people.0.addresses"),
        ("id: x\ndomains: [a.com]\nunknown_key: 1\n", "unknown_key"),
        ("id: x\ndomains: [a.com]\nactions: {malicious: explode}\n", "actions.malicious"),
        ("- just\n- a list\n", "mapping"),
        ("id: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_tenant_files_name_file_and_key(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "tenant.yml"
    path.write_text(text)
    with pytest.raises(TenantConfigError) as error:
        load_tenant(path)
    assert str(path) in str(error.value)
    assert problem in str(error.value)


def test_missing_tenant_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError, match="cannot read"):
        load_tenant(tmp_path / "absent.yml")
