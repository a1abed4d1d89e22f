"""The catalog's HTTP side: the v2 list routes for the token's owner, the image file server, and the
control route /_sandbox/evotor-catalog with `configure`, its client for tests."""

from __future__ import annotations

from typing import Any

from connhub.providers.evotor.sandbox.catalog import SandboxCatalog
from connhub.providers.evotor.sandbox.constants import (
    EVOTOR,
    EVOTOR_ACCOUNTS,
    EVOTOR_RATE_LIMIT,
    EVOTOR_RATE_WINDOW,
    REFUSALS,
    RESOURCES,
    UNAUTHORIZED,
)
from connhub.providers.evotor.sandbox.stores import presented_tokens
from connhub.sandbox.control import SandboxControl
from connhub.sandbox.state import SandboxState
from connhub.sandbox.web import BadRequest, Request, Response, json_response


def api(state: SandboxState, request: Request) -> Response:
    """GET /evotor/api/stores/{store_id}/(product-groups|products)[/{id}] for the token's owner."""
    parts = request.path.removeprefix("/evotor/api/stores/").split("/")
    is_images = len(parts) == 4 and parts[1] == "products" and parts[3] == "images" and all(parts)
    if not is_images and (len(parts) not in (2, 3) or parts[1] not in RESOURCES or not parts[0]):
        return json_response({"code": "not_found", "message": f"no such path: {request.path}"}, 404)
    checks = [state.check_access(EVOTOR, presented) for presented in presented_tokens(request)]
    owner = next((check.account_id for check in checks if check.verdict == "ok"), None)
    if owner is None:
        refusal = next((REFUSALS[c.verdict] for c in checks if c.verdict in REFUSALS),
                       UNAUTHORIZED)
        return json_response(refusal[1], refusal[0])
    remaining, _reset = state.rate(EVOTOR, owner, limit=EVOTOR_RATE_LIMIT,
                                   window_seconds=EVOTOR_RATE_WINDOW)
    catalog: SandboxCatalog = state.extra(EVOTOR)
    if is_images:
        listed = catalog.image_list(owner, parts[0], parts[2], request.base_url)
        return json_response(listed.body, listed.status, listed.headers)
    answer = catalog.answer(owner, parts[0], parts[1], parts[2] if len(parts) == 3 else None, request.params,
                            remaining)
    return json_response(answer.body, answer.status, answer.headers)


def image_file(state: SandboxState, request: Request) -> Response:
    """GET /evotor/images/{account}/{store}/{product}/{image id}: the static file server (no token)."""
    parts = request.path.removeprefix("/evotor/images/").split("/")
    catalog: SandboxCatalog = state.extra(EVOTOR)
    data = catalog.image_file(*parts) if len(parts) == 4 and all(parts) else None
    if data is None:
        return Response(404, b"not found")
    return Response(200, data, "image/png")


def configure(control_api: SandboxControl, **payload: Any) -> dict[str, Any]:
    """Through the control API: upsert=[products], delete=[ids], forbid=["products"|"product-groups"],
    rate_limit=n (the next n catalog requests answer 429), reset_seconds, quantity_right, list_ids=True,
    images=[{product_id, action: "set"|"remove", data_base64?, pad_to?}] (forbid may name "images" too);
    account_id/store_id default to the first demo store."""
    answer: dict[str, Any] = control_api.post("evotor-catalog", payload)
    return answer


def control(state: SandboxState, request: Request) -> Response:
    """GET: the catalog's settings. POST {account_id?, store_id?, upsert?, delete?, forbid?,
    rate_limit?, reset_seconds?, quantity_right?, list_ids?}: change products and how the catalog
    answers. account_id and store_id default to the first demo store."""
    catalog: SandboxCatalog = state.extra(EVOTOR)
    if request.method == "GET":
        return json_response(catalog.configure())
    body = request.json()
    accounts = EVOTOR_ACCOUNTS
    account_id = str(body.get("account_id") or next(iter(accounts)))
    store_id = str(body.get("store_id") or accounts.get(account_id, ({"id": ""},))[0]["id"])
    answer: dict[str, Any] = {}
    try:
        if "upsert" in body:
            if not isinstance(body["upsert"], list) or not all(isinstance(i, dict) for i in body["upsert"]):
                raise BadRequest("upsert must be a list of product objects")
            answer["upserted"] = catalog.upsert(account_id, store_id, body["upsert"])
        if "delete" in body:
            if not isinstance(body["delete"], list):
                raise BadRequest("delete must be a list of product ids")
            answer["deleted"] = catalog.delete(account_id, store_id, [str(i) for i in body["delete"]])
        if "images" in body:
            if not isinstance(body["images"], list) or not all(isinstance(i, dict) for i in body["images"]):
                raise BadRequest("images must be a list of {product_id, action} objects")
            answer["images"] = catalog.set_images(account_id, store_id, body["images"])
        settings = {key: body[key] for key in ("forbid", "rate_limit", "reset_seconds", "quantity_right")
                    if key in body}
        for key in ("rate_limit", "reset_seconds"):
            if key in settings and (isinstance(settings[key], bool) or not isinstance(settings[key], int)
                                    or settings[key] < 0):
                raise BadRequest(f"{key} must be a non-negative integer")
        answer.update(catalog.configure(**settings))
        if body.get("list_ids"):
            answer["ids"] = catalog.product_ids(account_id, store_id)
            answer["with_images"] = catalog.product_image_ids(account_id, store_id)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    return json_response(answer)
