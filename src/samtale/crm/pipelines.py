"""The pipeline engine tickets and deals share: ordered stages, a "closed" category (a ticket
resolved, a deal won or lost) and, for deals, a win probability. Each account gets its default
pipelines the first time one is needed ("Support" for tickets, "Sales" for deals); CRM admins
define more in settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from samtale.accounts.models import Account, User
from samtale.core.audit import audit
from samtale.crm.actions import require_crm_admin
from samtale.crm.models import Pipeline, PipelineKind, Stage

# the defaults' names are translated when a pipeline is made, in the account's language
DEFAULTS: dict[str, tuple[str, list[tuple[str, bool, int | None]]]] = {
    PipelineKind.TICKET: (
        gettext_noop("Support"),
        [
            (gettext_noop("New"), False, None),
            (gettext_noop("Waiting on contact"), False, None),
            (gettext_noop("Waiting on us"), False, None),
            (gettext_noop("Closed"), True, None),
        ],
    ),
    PipelineKind.DEAL: (
        gettext_noop("Sales"),
        [
            (gettext_noop("Qualified"), False, 20),
            (gettext_noop("Proposal sent"), False, 50),
            (gettext_noop("Negotiation"), False, 80),
            (gettext_noop("Won"), True, 100),
            (gettext_noop("Lost"), True, 0),
        ],
    ),
}

MAX_STAGES = 30
MAX_PIPELINES = 50


def pipelines_of(account_id: int, kind: str) -> list[Pipeline]:
    """The account's pipelines of this kind, each with its stages in order (`p.stages.all()` asks
    nothing more): one query (a pipeline always has a stage)."""
    stages = list(
        Stage.objects.filter(pipeline__account_id=account_id, pipeline__kind=kind)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline_id", "position", "id")
    )
    found: dict[int, Pipeline] = {}
    held: dict[int, list[Stage]] = {}
    for stage in stages:
        pipeline = found.setdefault(stage.pipeline_id, stage.pipeline)
        stage.pipeline = pipeline
        held.setdefault(pipeline.pk, []).append(stage)
    for pk, pipeline in found.items():
        rows = Stage.objects.none()
        rows._result_cache = held[pk]
        rows._prefetch_done = True  # type: ignore[attr-defined]
        pipeline._prefetched_objects_cache = {"stages": rows}  # type: ignore[attr-defined]
    return list(found.values())


def default_pipeline(account: Account, kind: str) -> Pipeline:
    """The first pipeline of this kind, made with the default stages when the account has none."""
    found = Pipeline.objects.filter(account=account, kind=kind).first()
    if found is not None:
        return found
    name, stages = DEFAULTS[kind]
    with transaction.atomic():  # named in the language of whoever needs it first
        # the account row serialises two first uses: one makes it, the other finds it
        Account.objects.select_for_update().filter(pk=account.pk).first()
        found = Pipeline.objects.filter(account=account, kind=kind).first()
        if found is not None:
            return found
        pipeline = Pipeline.objects.create(account=account, kind=kind, name=_(name))
        Stage.objects.bulk_create(
            Stage(pipeline=pipeline, name=_(stage), position=i, is_closed=closed, probability=p)
            for i, (stage, closed, p) in enumerate(stages)
        )
    return pipeline


def first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(is_closed=False).first() or pipeline.stages.first()
    if stage is None:
        raise ValidationError(_("This pipeline has no stages."))
    return stage


def first_closed_stage(pipeline: Pipeline) -> Stage | None:
    return pipeline.stages.filter(is_closed=True).first()


def _clean_stages(lines: list[tuple[str, bool, int | None]]) -> list[tuple[str, bool, int | None]]:
    cleaned = []
    seen: set[str] = set()
    for name, closed, probability in lines:
        name = " ".join(str(name).split())
        if not name:
            continue
        if len(name) > 100:
            raise ValidationError({"stages": [_("A stage's name has at most 100 characters.")]})
        if name.casefold() in seen:
            raise ValidationError({"stages": [_("Two stages are called %(name)s.") % {"name": name}]})
        if probability is not None and not 0 <= probability <= 100:
            raise ValidationError({"stages": [_("A probability is from 0 to 100 per cent.")]})
        seen.add(name.casefold())
        cleaned.append((name, bool(closed), probability))
    if not cleaned:
        raise ValidationError({"stages": [_("A pipeline needs at least one stage.")]})
    if len(cleaned) > MAX_STAGES:
        raise ValidationError({"stages": [_("At most %(n)s stages.") % {"n": MAX_STAGES}]})
    if not any(not closed for _n, closed, _p in cleaned):
        raise ValidationError({"stages": [_("A pipeline needs a stage that is not closed.")]})
    return cleaned


def create_pipeline(
    account: Account, *, acting_user: User, kind: str, name: str, stages: list[tuple[str, bool, int | None]]
) -> Pipeline:
    """A new pipeline (CRM admins) with its stages in order."""
    require_crm_admin(acting_user, account.pk)
    if kind not in PipelineKind.values:
        raise ValidationError({"kind": [_("Unknown kind of pipeline.")]})
    name = " ".join(str(name).split())
    if not name or len(name) > 100:
        raise ValidationError({"name": [_("A name of 1 to 100 characters.")]})
    cleaned = _clean_stages(stages)
    with transaction.atomic():
        if Pipeline.objects.filter(account=account, kind=kind).count() >= MAX_PIPELINES:
            raise ValidationError({"name": [_("At most %(n)s pipelines.") % {"n": MAX_PIPELINES}]})
        default_pipeline(account, kind)  # the defaults exist before any other, so they stay first
        last = Pipeline.objects.filter(account=account, kind=kind).order_by("-position").first()
        pipeline = Pipeline.objects.create(
            account=account, kind=kind, name=name, position=(last.position + 1) if last else 0
        )
        Stage.objects.bulk_create(
            Stage(pipeline=pipeline, name=n, position=i, is_closed=c, probability=p)
            for i, (n, c, p) in enumerate(cleaned)
        )
        audit(account, acting_user, "pipeline.created", pipeline, kind=kind)
    return pipeline


def add_stage(
    pipeline: Pipeline, *, acting_user: User, name: str, is_closed: bool = False, probability: int | None = None
) -> Stage:
    """A stage at the end of the pipeline (CRM admins)."""
    require_crm_admin(acting_user, pipeline.account_id)
    if not " ".join(str(name).split()):
        raise ValidationError({"name": [_("Name the stage.")]})
    existing = [(s.name, s.is_closed, s.probability) for s in pipeline.stages.all()]
    name, is_closed, probability = _clean_stages([*existing, (name, is_closed, probability)])[-1]
    with transaction.atomic():
        stage = Stage.objects.create(
            pipeline=pipeline, name=name, position=len(existing), is_closed=is_closed, probability=probability
        )
        audit(pipeline.account, acting_user, "pipeline.stage_added", pipeline, stage_id=stage.pk)
    return stage


# --- the bounded values tickets and deals read from forms and the API ---------------------------


def _pk(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def pipeline_of(account_id: int, kind: str, value: object) -> Pipeline | None:
    """The account's pipeline of this kind with this id, None for none given; else "No such pipeline"."""
    if value in (None, ""):
        return None
    found = Pipeline.objects.filter(account_id=account_id, kind=kind, pk=_pk(value)).first()
    if found is None:
        raise ValidationError({"pipeline": [_("No such pipeline.")]})
    return found


def stage_in(pipeline: Pipeline, value: object) -> Stage:
    found = Stage.objects.filter(pipeline=pipeline, pk=_pk(value)).first()
    if found is None:
        raise ValidationError({"stage": [_("Choose a stage of this pipeline.")]})
    return found


def any_stage_of(account_id: int, kind: str, value: object) -> Stage:
    """A stage of any of the account's pipelines of this kind (it names its pipeline)."""
    found = (
        Stage.objects.select_related("pipeline")
        .filter(pipeline__account_id=account_id, pipeline__kind=kind, pk=_pk(value))
        .first()
    )
    if found is None:
        raise ValidationError({"stage": [_("Choose a stage of this pipeline.")]})
    return found


def bounded_text(key: str, value: object, limit: int, *, one_line: bool = True) -> str:
    text = str(value or "")
    text = " ".join(text.split()) if one_line else text.strip()
    if len(text) > limit:
        raise ValidationError({key: [_("At most %(n)s characters.") % {"n": limit}]})
    return text


def choice_of(key: str, value: object, choices: Any, *, blank: bool = False) -> str:
    text = str(value or "")
    if blank and text == "":
        return ""
    if text not in choices.values:
        raise ValidationError({key: [_("Choose one of the options.")]})
    return text
