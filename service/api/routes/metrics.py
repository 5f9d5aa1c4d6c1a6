"""Prometheus metrics (``/metrics``). They count unpublished marks too, so they need an
examiner or admin key unless ``TMSEARCH_METRICS_PUBLIC`` opens them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.deps import get_metrics, get_settings
from service.api.security import get_principal, require_examiner

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """Request counts and latency per route, rate-limit refusals, refused uploads, marks,
    index size and memory, model version (Prometheus text format)."""
    if not get_settings(request).metrics_public:
        require_examiner(get_principal(request))
    return Response(generate_latest(get_metrics(request).registry),
                    media_type=CONTENT_TYPE_LATEST)
