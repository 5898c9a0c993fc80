"""Call flows (the lead's app/flows): list with lint status, the full lint result, and one flow
with its Mermaid diagram.

The flows are read from FLOWS_DIR on each request with the same loader and linter the app
starts with, so an operator sees the state of the files on disk (the running engine refused to
start on an invalid flow, so a problem shown here is one the next restart would hit).
"""

from __future__ import annotations

from typing import Literal

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, Field

from app.api.core import PageMeta, PageQuery, bp, page_of, path_parameter, responses, spec
from app.api.problems import not_found
from app.flows import app_actions, app_words
from app.flows.diagram import mermaid
from app.flows.loader import RESERVED_NAMES, load_flows
from app.flows.model import Flow, FlowSet, LintError


class FlowProblem(BaseModel):
    file: str
    node: str | None
    problem: str
    message: str = Field(description="file, node and problem as one line (as `cortese flows lint` prints)")


class FlowOut(BaseModel):
    name: str
    kind: str
    start: str
    nodes: int
    file: str
    description: str
    ok: bool = Field(description="true when the linter found nothing wrong in this flow's file")
    problems: list[FlowProblem]


class FlowPage(PageMeta):
    items: list[FlowOut]


class FlowQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    language: Literal["it", "nl", "en"] = Field("en", description="language of the prompts shown in the diagram")


class FlowsQuery(PageQuery):
    kind: Literal["inbound", "outbound", "sub"] | None = None
    ok: bool | None = Field(None, description="only flows with (false) or without (true) problems")


class LintOut(BaseModel):
    ok: bool
    flows: int
    problems: list[FlowProblem]


class FlowDetail(FlowOut):
    node_names: list[str]
    mermaid: str = Field(description="Mermaid `flowchart TD` source of the flow")


def current_flowset() -> FlowSet:
    # With the app's actions, so the listing lints what `cortese flows lint` lints.
    return load_flows(current_app.extensions["cortese.settings"].flows_dir, app_actions(current_app),
                      app_words(current_app))


def problem_out(error: LintError) -> FlowProblem:
    return FlowProblem(file=error.file, node=error.node, problem=error.problem, message=str(error))


def problems_of(flowset: FlowSet, flow: Flow) -> list[FlowProblem]:
    return [problem_out(e) for e in flowset.errors if e.file == flow.file]


def flow_out(flowset: FlowSet, flow: Flow) -> FlowOut:
    problems = problems_of(flowset, flow)
    return FlowOut(name=flow.name, kind=flow.kind, start=flow.start, nodes=len(flow.nodes),
                   file=flow.file, description=flow.description, ok=not problems, problems=problems)


def flow_rows(flowset: FlowSet, kind: str | None = None, ok: bool | None = None) -> list[FlowOut]:
    rows = [flow_out(flowset, f) for f in sorted(flowset.flows.values(), key=lambda f: f.name)]
    return [r for r in rows if (kind is None or r.kind == kind) and (ok is None or r.ok == ok)]


def flow_detail(flowset: FlowSet, flow: Flow, language: str = "en") -> FlowDetail:
    return FlowDetail(**flow_out(flowset, flow).model_dump(), node_names=list(flow.nodes),
                      mermaid=mermaid(flow, language))


@bp.get("/flows")
@spec.validate(query=FlowsQuery, resp=responses(FlowPage), tags=["flows"])
def list_flows() -> FlowPage:
    """Every flow in FLOWS_DIR with its kind, start node, size and lint problems."""
    query: FlowsQuery = request.context.query  # type: ignore[attr-defined]
    items, meta = page_of(flow_rows(current_flowset(), query.kind, query.ok), query)
    return FlowPage(items=items, **meta.model_dump())


@bp.get("/flows/lint")
@spec.validate(resp=responses(LintOut), tags=["flows"])
def lint_flows() -> LintOut:
    """The linter's verdict on every flow (what `cortese flows lint` prints)."""
    flowset = current_flowset()
    return LintOut(ok=not flowset.errors, flows=len(flowset.flows),
                   problems=[problem_out(e) for e in flowset.errors])


# /api/flows/lint is the linter's verdict: no flow is named so (the loader refuses the name).
path_parameter("/api/flows/{name}", "name", {"not": {"enum": sorted(RESERVED_NAMES)}})


@bp.get("/flows/<string:name>")
@spec.validate(query=FlowQuery, resp=responses(FlowDetail), tags=["flows"])
def get_flow(name: str) -> FlowDetail:
    """One flow with its node names, lint problems and Mermaid diagram."""
    flowset = current_flowset()
    flow = flowset.get(name[:64])
    if flow is None:
        raise not_found("flow", name)
    query: FlowQuery = request.context.query  # type: ignore[attr-defined]
    return flow_detail(flowset, flow, query.language)
