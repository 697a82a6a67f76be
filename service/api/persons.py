"""Pseudonymised person records (staff): every read is audited; merges need a coordinator."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from service.auth import StaffRequest, require_role
from service.runtime import RuntimeDep
from service.schemas.persons import (
    PRINTABLE,
    PersonCreate,
    PersonDetail,
    PersonMerge,
    PersonPage,
    PersonPatch,
    PossibleDuplicates,
)
from service.schemas.problems import problem_responses
from service.usecases.persons import records as persons

MERGE_PATH = "/{person_id:uuid}/merge-into/{other_id:uuid}"
CURSOR = r"^[A-Za-z0-9_-]*$"
"""Cursors are base64url without padding."""


class PersonsController(Controller):
    path = "/v1/persons"
    tags = ["persons"]
    guards = [require_role("worker", "coordinator")]

    @post(
        "/",
        operation_id="createPerson",
        summary="Start a pseudonymised person record (gets a pseudonym such as P-7K2M9Q)",
        status_code=201,
        responses=problem_responses(401, 403, 422),
    )
    async def create(
        self, runtime: RuntimeDep, request: StaffRequest, data: JSONBody[PersonCreate]
    ) -> PersonDetail:
        return await persons.create(runtime, request.user, data, route=request.url.path)

    @get(
        "/",
        operation_id="listPersons",
        summary="Persons in your scope, newest first (known-as for workers only; audited)",
        responses=problem_responses(401, 403, 422),
    )
    async def list_persons(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=200, pattern=CURSOR)] = None,
        team_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        include_merged: Annotated[
            bool, QueryParameter(description="Also list records merged into another")
        ] = False,
        q: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=100,
                pattern=PRINTABLE,
                description="Part of the pseudonym (or, for workers, of the name known by)",
            ),
        ] = None,
    ) -> PersonPage:
        return await persons.list_persons(
            runtime,
            request.user,
            limit=limit,
            cursor=cursor,
            team_id=team_id,
            include_merged=include_merged,
            route=request.url.path,
            q=q,
        )

    @get(
        "/{person_id:uuid}",
        operation_id="getPerson",
        summary="One person with cohort and contact history summary (audited read)",
        responses=problem_responses(401, 403, 404),
    )
    async def read(
        self, runtime: RuntimeDep, request: StaffRequest, person_id: FromPath[uuid.UUID]
    ) -> PersonDetail:
        return await persons.read(runtime, request.user, person_id, route=request.url.path)

    @patch(
        "/{person_id:uuid}",
        operation_id="updatePerson",
        summary="Change some fields of a person record (only the fields sent)",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def update(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        person_id: FromPath[uuid.UUID],
        data: JSONBody[PersonPatch],
    ) -> PersonDetail:
        return await persons.update(runtime, request.user, person_id, data, route=request.url.path)

    @get(
        "/{person_id:uuid}/possible-duplicates",
        operation_id="listPersonPossibleDuplicates",
        summary="Other persons in your scope who may be the same person, scored, with reasons",
        responses=problem_responses(401, 403, 404),
    )
    async def possible_duplicates(
        self, runtime: RuntimeDep, request: StaffRequest, person_id: FromPath[uuid.UUID]
    ) -> PossibleDuplicates:
        return await persons.possible_duplicates(
            runtime, request.user, person_id, route=request.url.path
        )

    @post(
        MERGE_PATH,
        operation_id="mergePerson",
        summary="Merge a person record into another (coordinators; reversible, contacts kept)",
        status_code=200,
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def merge(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        person_id: FromPath[uuid.UUID],
        other_id: FromPath[uuid.UUID],
    ) -> PersonMerge:
        return await persons.merge(
            runtime, request.user, person_id, other_id, route=request.url.path
        )

    @delete(
        MERGE_PATH,
        operation_id="undoPersonMerge",
        summary="Undo a merge: both records and their histories come back (coordinators)",
        status_code=200,
        guards=[require_role("coordinator")],
        responses=problem_responses(401, 403, 404),
    )
    async def undo_merge(
        self,
        runtime: RuntimeDep,
        request: StaffRequest,
        person_id: FromPath[uuid.UUID],
        other_id: FromPath[uuid.UUID],
    ) -> PersonMerge:
        return await persons.undo_merge(
            runtime, request.user, person_id, other_id, route=request.url.path
        )
