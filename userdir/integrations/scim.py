"""Users as SCIM 2.0 (RFC 7643) resources, built and validated with ``scim2-models``.

Needs the ``scim`` extra (``pip install 'userdir[scim]'``).

Mapping: ``externalId`` is the userdir id; ``id`` is a UUID derived from it
(stable across runs, opaque as SCIM wants); ``userName`` is the username, else
the email, else the userdir id (SCIM requires one); ``active``, ``name``,
``displayName``, the primary ``emails`` entry, ``phoneNumbers``, ``photos``,
``roles``, ``userType``, ``groups`` (read-only memberships, as the provider names
them), ``locale``, ``timezone`` and ``meta.created``/``meta.lastModified``
come from the matching ``User`` fields when they are known; the enterprise
extension carries the organization when one is known. Nothing is invented.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

try:
    from scim2_models import (
        Context,
        Email,
        EnterpriseUser,
        GroupMembership,
        ListResponse,
        Meta,
        Name,
        PhoneNumber,
        Photo,
        Role,
    )
    from scim2_models import User as ScimUser
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("SCIM output needs the extra: pip install 'userdir[scim]'") from exc

from userdir._models import User

__all__ = ["SCIM_NAMESPACE", "ScimResource", "to_scim", "to_scim_dict", "to_scim_list"]

#: UUID namespace for SCIM ids: uuid5(SCIM_NAMESPACE, "<provider>:<native id>").
SCIM_NAMESPACE = uuid.UUID("6d0f4c34-5b2a-4e0e-9a55-7573657264ff")

ScimResource = ScimUser[EnterpriseUser]


def to_scim(user: User) -> ScimResource:
    """One ``User`` as a validated SCIM ``User`` resource (with the enterprise extension)."""
    parts = {
        "formatted": user.full_name,
        "given_name": user.first_name,
        "family_name": user.last_name,
    }
    resource = ScimResource(
        id=str(uuid.uuid5(SCIM_NAMESPACE, user.id)),
        external_id=user.id,
        user_name=user.username or user.email or user.id,
        name=Name(**parts) if any(parts.values()) else None,
        display_name=user.full_name,
        active=user.is_active,
        emails=[Email(value=user.email, primary=True, type="work")] if user.email else None,
        phone_numbers=[PhoneNumber(value=user.phone, primary=True)] if user.phone else None,
        photos=[Photo(value=user.avatar_url, type="photo")] if user.avatar_url else None,
        roles=[Role(value=role) for role in user.roles] or None,
        user_type=user.user_type.value if user.user_type else None,
        groups=[GroupMembership(value=group, display=group) for group in user.groups or ()] or None,
        locale=user.locale,
        timezone=user.timezone,
        meta=Meta(resource_type="User", created=user.created_at, last_modified=user.updated_at),
    )
    organization = user.organization_name or user.organization_id
    if organization:
        resource[EnterpriseUser] = EnterpriseUser(organization=organization)
    return resource


def to_scim_dict(user: User) -> dict[str, Any]:
    """The SCIM JSON of one user, as a response body would carry it."""
    data: dict[str, Any] = to_scim(user).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return data


def to_scim_list(users: Iterable[User]) -> dict[str, Any]:
    """Many users as a SCIM ``ListResponse`` (RFC 7644 §3.4.2) JSON body."""
    resources = [to_scim(user) for user in users]
    response = ListResponse[ScimResource](
        total_results=len(resources),
        start_index=1,
        items_per_page=len(resources),
        resources=resources,
    )
    data: dict[str, Any] = response.model_dump(scim_ctx=Context.SEARCH_RESPONSE)
    return data
