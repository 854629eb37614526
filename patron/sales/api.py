"""Sales API: opportunities (CRUD, move, list with filters and cursor pagination) and
pipelines with their stages. Parse, call the selectors and services, shape — nothing else."""

from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from patron.core.models import Team, User
from patron.core.schemas import ERRORS, WRITE_ERRORS, PageParams
from patron.customers import selectors as customer_selectors
from patron.customers.models import Contact
from patron.utils.cursor import paginate

from . import selectors, services
from .filters import OPPORTUNITY_ORDERINGS, OpportunityFilterSet
from .schemas import (
    MoveIn,
    OpportunityIn,
    OpportunityOut,
    OpportunityPage,
    OpportunityPatch,
    PipelineOut,
    StageChangeOut,
)

router = Router()

# Input fields naming a record by id -> the service's field.
REFERENCES = {
    "account_id": "account",
    "primary_contact_id": "primary_contact",
    "pipeline_id": "pipeline",
    "stage_id": "stage",
    "owner_id": "owner",
    "team_id": "team",
}
LIST_PARAMETERS = ("ordering", "cursor", "limit")


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


def _resolve(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """Ids to records; an unknown id or a record the caller may not see is a 400 on its field."""
    sources: dict[str, tuple[QuerySet, str]] = {
        "account_id": (customer_selectors.account_visible(user=user), "account"),
        "primary_contact_id": (Contact.objects.restrict(user, "view"), "contact"),
        "pipeline_id": (selectors.pipelines_visible(user=user), "pipeline"),
        "stage_id": (selectors.stage_visible(user=user), "stage"),
        "owner_id": (User.objects.all(), "user"),
        "team_id": (Team.objects.all(), "team"),
    }
    result: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if name not in sources:
            result[name] = value
            continue
        queryset, label = sources[name]
        record = None if value is None else queryset.filter(pk=value).first()
        if value is not None and record is None:
            errors[name] = [f"There is no {label} with id {value}."]
        result[REFERENCES[name]] = record
    if errors:
        raise ValidationError(errors)
    return result


def _rename_errors(exc: ValidationError) -> ValidationError:
    """Service errors under the names the client sent (`account` -> `account_id`)."""
    if not hasattr(exc, "error_dict"):
        return exc
    back = {field: given for given, field in REFERENCES.items()}
    return ValidationError({back.get(k, k): v for k, v in exc.error_dict.items()})


class OpportunityListParams(PageParams):
    owner: str | None = Field(None, description="A user id, or `me`.")
    team: int | None = Field(None, ge=1, le=2**63 - 1)
    pipeline: int | None = Field(None, ge=1, le=2**63 - 1)
    stage: int | None = Field(None, ge=1, le=2**63 - 1)
    status: Literal["open", "won", "lost"] | None = None
    account: int | None = Field(None, ge=1, le=2**63 - 1)
    contact: int | None = Field(None, ge=1, le=2**63 - 1, description="Primary contact.")
    close_after: str | None = Field(None, description="Expected close on or after (YYYY-MM-DD).")
    close_before: str | None = Field(None, description="Expected close on or before.")
    ordering: Literal[tuple(OPPORTUNITY_ORDERINGS)] = Field(  # type: ignore[valid-type]
        "-updated", description="Sort order."
    )


@router.get(
    "/opportunities",
    response={200: OpportunityPage, **ERRORS},
    tags=["Opportunities"],
    description="Opportunities you may see, filtered and ordered, one page at a time.",
)
def opportunity_list(request: HttpRequest, params: Query[OpportunityListParams]):
    user = _actor(request)
    filterset = OpportunityFilterSet(
        request.GET, queryset=selectors.opportunity_visible(user=user), user=user
    )
    unknown = sorted(set(request.GET) - set(filterset.filters) - set(LIST_PARAMETERS))
    if unknown:
        raise ValidationError({name: ["Unknown parameter."] for name in unknown})
    queryset = selectors.opportunities_for_list(filterset.filtered())
    ordering = OPPORTUNITY_ORDERINGS[params.ordering]
    try:
        page = paginate(queryset, ordering=ordering, cursor=params.cursor, limit=params.limit)
    except (ValueError, TypeError) as exc:
        if not params.cursor:
            raise
        raise ValidationError({"cursor": ["This cursor is not valid."]}) from exc
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


@router.post("/opportunities", response={201: OpportunityOut, **ERRORS}, tags=["Opportunities"])
def opportunity_create(request: HttpRequest, payload: OpportunityIn):
    """Create an opportunity; left out, the pipeline is the default one and the stage its
    first, the owner is you and the currency the organisation's."""
    user = _actor(request)
    data = payload.model_dump(exclude_unset=True)
    if data.get("currency") is None:
        data.pop("currency", None)
    try:
        opportunity = services.opportunity_create(actor=user, data=_resolve(user, data))
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return Status(201, selectors.opportunity_get(user=user, pk=opportunity.pk))


@router.get(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityOut, **ERRORS},
    tags=["Opportunities"],
)
def opportunity_detail(request: HttpRequest, opportunity_id: int):
    return selectors.opportunity_get(user=_actor(request), pk=opportunity_id)


@router.patch(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityOut, **WRITE_ERRORS},
    tags=["Opportunities"],
)
def opportunity_update(request: HttpRequest, opportunity_id: int, payload: OpportunityPatch):
    """Change an opportunity's details; send the `version` you read (a stale one answers
    409). The stage changes only through `move`."""
    user = _actor(request)
    opportunity = selectors.opportunity_get(user=user, pk=opportunity_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("name", "account_id", "amount", "currency", "next_step", "close_reason"):
        if name in data and data[name] is None:
            raise ValidationError({name: ["This field may not be null."]})
    try:
        services.opportunity_update(
            actor=user,
            opportunity=opportunity,
            expected_version=payload.version,
            data=_resolve(user, data),
        )
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return selectors.opportunity_get(user=user, pk=opportunity_id)


@router.post(
    "/opportunities/{opportunity_id}/move",
    response={200: OpportunityOut, **WRITE_ERRORS},
    tags=["Opportunities"],
)
def opportunity_move(request: HttpRequest, opportunity_id: int, payload: MoveIn):
    """Move to a stage (of any pipeline). A won or lost stage closes the opportunity and a
    lost one needs a `reason`; an open stage reopens it. Send the `version` you read."""
    user = _actor(request)
    opportunity = selectors.opportunity_get(user=user, pk=opportunity_id)
    stage = _resolve(user, {"stage_id": payload.stage_id})["stage"]
    services.opportunity_move(
        actor=user,
        opportunity=opportunity,
        expected_version=payload.version,
        stage=stage,
        reason=payload.reason,
    )
    return selectors.opportunity_get(user=user, pk=opportunity_id)


@router.delete(
    "/opportunities/{opportunity_id}", response={204: None, **ERRORS}, tags=["Opportunities"]
)
def opportunity_delete(request: HttpRequest, opportunity_id: int):
    user = _actor(request)
    services.opportunity_delete(
        actor=user, opportunity=selectors.opportunity_get(user=user, pk=opportunity_id)
    )
    return Status(204, None)


@router.get(
    "/opportunities/{opportunity_id}/stages",
    response={200: list[StageChangeOut], **ERRORS},
    tags=["Opportunities"],
)
def opportunity_stage_history(request: HttpRequest, opportunity_id: int):
    """The stages the opportunity went through, oldest first, with the time spent in each."""
    opportunity = selectors.opportunity_get(user=_actor(request), pk=opportunity_id)
    return [
        {
            "from_stage": spell.change.from_stage,
            "to_stage": spell.change.to_stage,
            "changed_by": spell.change.changed_by,
            "changed_at": spell.change.changed_at,
            "seconds_in_stage": int(spell.duration.total_seconds()),
        }
        for spell in selectors.stage_history(opportunity=opportunity)
    ]


@router.get("/pipelines", response={200: list[PipelineOut], **ERRORS}, tags=["Opportunities"])
def pipeline_list(request: HttpRequest):
    """Pipelines with their stages, in board order."""
    return list(selectors.pipelines_visible(user=_actor(request)).prefetch_related("stages"))


@router.get(
    "/pipelines/{pipeline_id}", response={200: PipelineOut, **ERRORS}, tags=["Opportunities"]
)
def pipeline_detail(request: HttpRequest, pipeline_id: int):
    return (
        selectors.pipelines_visible(user=_actor(request))
        .prefetch_related("stages")
        .get(pk=pipeline_id)
    )
