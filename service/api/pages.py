"""Server-rendered pages: the public report form and status page, the staff map and console
shells, the field app's shell (with its service worker and manifest) and the API docs page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template

from service.auth import PUBLIC, user_of_header
from service.exceptions import NotFoundError
from service.runtime import RuntimeDep
from service.usecases.areas.views import boundary_attribution
from service.usecases.basemap.style import page_style_url
from service.usecases.messages import admin as messages
from service.usecases.referrals import report_form
from service.usecases.staff import field_app

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class DocsController(Controller):
    include_in_schema = False
    opt = PUBLIC

    @get("/docs", operation_id="docsPage", media_type=MediaType.HTML, sync_to_thread=False)
    def docs(self) -> str:
        return (TEMPLATES / "docs.html").read_text(encoding="utf-8")


class ReportPagesController(Controller):
    """``/report``: plain HTML that works with JavaScript off; a map pin when it is on."""

    path = "/report"
    include_in_schema = False
    opt = PUBLIC

    @get("/", operation_id="reportForm", summary="The public report form")
    async def form(self, runtime: RuntimeDep) -> Template:
        return Template("report.html", context=report_form.form_context(runtime))

    @post("/", operation_id="submitReportForm", summary="Submit the public report form")
    async def submit(self, runtime: RuntimeDep, data: FormBody) -> Response[Any]:
        outcome = await report_form.submit_form(runtime, data)
        if outcome.redirect_to:
            return Redirect(outcome.redirect_to, status_code=303)
        context = report_form.form_context(runtime, outcome.form, outcome.errors)
        return Template("report.html", context=context, status_code=422)

    @get("/status/{reference:str}", operation_id="reportStatusPage", summary="Status page")
    async def status(
        self,
        runtime: RuntimeDep,
        reference: FromPath[str],
        token: Annotated[str, QueryParameter(max_length=100)] = "",
        submitted: Annotated[int, QueryParameter(ge=0, le=1)] = 0,
    ) -> Template:
        context = await report_form.status_context(runtime, reference, token, bool(submitted))
        if context is None:
            return Template("not_found.html", status_code=404)
        return Template("status.html", context=context)


class UnsubscribePageController(Controller):
    """The link in every email to a referrer: a page with one button (a link scanner that
    fetches the page unsubscribes nobody); the button stops every email about the alert."""

    path = "/report/unsubscribe"
    include_in_schema = False
    opt = PUBLIC

    @get("/{reference:str}", operation_id="unsubscribePage", summary="Stop emails (page)")
    async def page(
        self,
        runtime: RuntimeDep,
        reference: FromPath[str],
        token: Annotated[str, QueryParameter(max_length=100)] = "",
    ) -> Template:
        context = {"reference": reference, "token": token, "done": False}
        return Template("unsubscribe.html", context=context)

    @post(
        "/{reference:str}", operation_id="unsubscribeForm", summary="Stop emails", status_code=200
    )
    async def confirm(
        self,
        runtime: RuntimeDep,
        reference: FromPath[str],
        token: Annotated[str, QueryParameter(max_length=100)] = "",
    ) -> Template:
        try:
            done = await messages.unsubscribe_referrer(runtime, reference, token)
        except NotFoundError:
            return Template("not_found.html", status_code=404)
        return Template("unsubscribe.html", context={"reference": done.reference, "done": True})


class MapPageController(Controller):
    """``/map``: the staff map's shell. It holds no data: the page signs in and fetches tiles
    with the staff token, so the shell itself can be served to anyone."""

    path = "/map"
    include_in_schema = False
    opt = PUBLIC

    @get("/", operation_id="staffMapPage", summary="The staff map", sync_to_thread=False)
    def map_page(self, runtime: RuntimeDep) -> Template:
        return Template(
            "map.html",
            context={
                "map_style_url": page_style_url(runtime.settings),
                "boundary_attribution": boundary_attribution(runtime),
            },
        )


CONSOLE_ROLES = frozenset({"coordinator", "admin"})


class ConsolePageController(Controller):
    """``/console``: the coordinators' console shell. Like the map it holds no data and signs
    in on the page (the same token, in the tab's sessionStorage); every call it makes needs a
    coordinator's or admin's token. A request that presents a token of another role (a
    worker's) is refused with 403 here too, and the page shows the same refusal to a worker
    who signs in on it."""

    path = "/console"
    include_in_schema = False
    opt = PUBLIC

    @get("/", operation_id="consolePage", summary="The coordinators' console")
    async def console_page(
        self,
        runtime: RuntimeDep,
        request: Request[Any, Any, Any],
    ) -> Template:
        jwt_auth = request.app.state["jwt_auth"]
        user = await user_of_header(runtime, jwt_auth, request.headers.get("authorization"))
        if user is not None and user.role not in CONSOLE_ROLES:
            return Template("forbidden.html", status_code=403)
        return Template(
            "console.html",
            context={
                "map_style_url": page_style_url(runtime.settings),
                "boundary_attribution": boundary_attribution(runtime),
            },
        )


BUILD = Path(__file__).resolve().parents[1] / "web" / "static" / "build"
APP_SCOPE = "/app"


class FieldAppController(Controller):
    """``/app``: the outreach workers' offline-first phone app (a progressive web app). The
    shell holds no data: the app signs in, registers the phone and keeps everything it
    stores encrypted under the worker's PIN (``service/web/src/app.ts``)."""

    path = APP_SCOPE
    include_in_schema = False
    opt = PUBLIC

    @get("/", operation_id="fieldAppPage", summary="The field app's shell")
    async def page(self, runtime: RuntimeDep) -> Template:
        return Template("app.html", context=field_app.page_context(runtime.settings))

    @get(
        "/sw.js",
        operation_id="fieldAppServiceWorker",
        summary="The field app's service worker",
        sync_to_thread=False,
    )
    def service_worker(self) -> Response[bytes]:
        # Served from the app's path so that it may control /app; never cached by HTTP (the
        # browser compares it byte for byte to find an update).
        return Response(
            (BUILD / "app_sw.js").read_bytes(),
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": APP_SCOPE},
        )

    @get(
        "/manifest.webmanifest",
        operation_id="fieldAppManifest",
        summary="The field app's web app manifest",
        sync_to_thread=False,
    )
    def manifest(self) -> Response[dict[str, Any]]:
        return Response(field_app.MANIFEST, media_type="application/manifest+json")
