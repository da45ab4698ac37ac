"""SCIM 2.0 output, round-tripped through scim2-models."""

from __future__ import annotations

import json
import uuid

from click.testing import CliRunner
from scim2_models import Context, EnterpriseUser, ListResponse

from userdir import User
from userdir._cli import cli
from userdir.integrations.scim import SCIM_NAMESPACE, ScimResource, to_scim_dict, to_scim_list
from userdir.testing import sandbox_provider

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_a_full_user_maps_every_known_field() -> None:
    user = next(iter(sandbox_provider("freddy").users()))
    data = to_scim_dict(user)
    assert data["schemas"] == [CORE, ENTERPRISE]
    assert data["externalId"] == user.id
    assert data["id"] == str(uuid.uuid5(SCIM_NAMESPACE, user.id))
    assert data["userName"] == user.username
    assert data["name"] == {
        "formatted": user.full_name,
        "givenName": user.first_name,
        "familyName": user.last_name,
    }
    assert data["emails"] == [{"value": user.email, "primary": True, "type": "work"}]
    assert data["active"] is True
    assert data["meta"]["created"] == "2022-02-21T08:44:32Z"
    assert data["meta"]["resourceType"] == "User"
    assert data[ENTERPRISE] == {"organization": user.organization_id}
    assert [r["value"] for r in data["roles"]] == list(user.roles)


def test_user_type_and_groups_map_to_scim() -> None:
    user = User(
        provider="pneumatic", native_id="1", status="active", user_type="guest", groups=("11",)
    )
    data = to_scim_dict(user)
    assert data["userType"] == "guest"
    assert data["groups"] == [{"value": "11", "display": "11"}]
    assert "userType" not in to_scim_dict(User(provider="p", native_id="2", status="active"))


def test_round_trip_through_scim2_models() -> None:
    for name in ("freddy", "pneumatic", "ejento"):
        for user in list(sandbox_provider(name).users())[:25]:
            data = to_scim_dict(user)
            back = ScimResource.model_validate(data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
            assert back.model_dump() == user.to_scim().model_dump()
            assert back.external_id == user.id


def test_missing_data_is_left_out_not_invented() -> None:
    bare = User(provider="pneumatic", native_id="7", status="invited")
    data = to_scim_dict(bare)
    assert data["userName"] == "pneumatic:7"  # SCIM requires one; the userdir id is honest
    assert data["active"] is False
    for absent in ("name", "emails", "phoneNumbers", "photos", "roles", ENTERPRISE):
        assert absent not in data


def test_list_response_and_cli_export() -> None:
    users = list(sandbox_provider("ejento").users())
    body = to_scim_list(users)
    parsed = ListResponse[ScimResource].model_validate(body, scim_ctx=Context.SEARCH_RESPONSE)
    assert parsed.total_results == len(users) == len(parsed.resources or [])

    result = CliRunner().invoke(cli, ["export", "ejento", "--sandbox", "--format", "scim"])
    assert result.exit_code == 0, result.output
    exported = json.loads(result.output)
    assert exported["totalResults"] == len(users)
    assert exported["Resources"][0]["externalId"].startswith("ejento:")
    assert isinstance(parsed.resources[0][EnterpriseUser], EnterpriseUser)  # type: ignore[index]
