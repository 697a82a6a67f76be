"""Reading one contact: scoped, audited, special-category fields only where needed.

Special-category data (support needs, health notes) is shown to the outreach worker's team
and the area's coordinators, who act on it; administrators run the system and see every
record, but not these fields (need to know)."""

from __future__ import annotations

import uuid

import msgspec

from service import access
from service.access import StaffUser
from service.db import audit
from service.db import contacts as repo
from service.db.engine import transaction
from service.exceptions import NotFoundError
from service.runtime import Runtime
from service.schemas.contacts import ContactOut


async def read_contact(
    runtime: Runtime, user: StaffUser, contact_id: uuid.UUID, *, route: str
) -> ContactOut:
    async with transaction(runtime.sessions) as session:
        row = await repo.get(session, contact_id)
        if row is None or not access.sees(user, row):
            raise NotFoundError("no such contact in your area")
        sensitive = user.role in access.SPECIAL_CATEGORY_ROLES
        if sensitive:
            row |= await repo.get_sensitive(session, contact_id)
        await audit.record(
            session,
            user_id=user.id,
            username=user.username,
            action="read",
            subject_type="contact",
            subject_id=str(contact_id),
            route=route,
            detail={"special_category": sensitive},
        )
    return msgspec.convert(row, ContactOut)
