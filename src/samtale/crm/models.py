from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from samtale.core.clock import now
from samtale.crm.identities import IdentityKind


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")
    OTHER = "other", _("Other")


class Company(models.Model):
    """An organisation contacts work for; a contact whose email is at its `domain` is associated
    with it when created (never for free-mail domains, `companies.FREE_MAIL`)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True)  # lower-case, no "www."
    owner = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    properties = models.JSONField(default=dict, blank=True)  # custom properties' values, by key
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "domain"], condition=~models.Q(domain=""), name="company_domain_unique"
            )
        ]
        indexes = [models.Index(fields=["account", "name"], name="company_name")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A customer: the "who" of conversations, found by their identities (`ContactIdentity`).
    `email` and `phone` are the ones shown first (the primary of each kind); `name` is the full
    name shown everywhere, kept equal to first + last name by `actions.update_contact`."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    job_title = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=8, blank=True, choices=[("en", "English"), ("nb", "Norsk bokmål")])
    owner = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lifecycle_stage = models.CharField(max_length=16, blank=True, choices=LifecycleStage.choices)
    properties = models.JSONField(default=dict, blank=True)  # custom properties' values, by key
    created_at = models.DateTimeField(default=now)
    last_contacted_at = models.DateTimeField(null=True, blank=True)  # the last message either way
    # merged into another contact: kept only so links to it lead to the one it became
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            models.Index(Lower("email"), "account", name="contact_account_email"),
            models.Index(fields=["account", "name"]),
            models.Index(fields=["account", "-created_at", "-id"], name="contact_created"),
            models.Index(fields=["account", "owner"], name="contact_owner"),
            models.Index(fields=["account", "company"], name="contact_company"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.phone or f"#{self.pk}"


class ContactIdentity(models.Model):
    """An address, number or id that is this contact's, one per account: mail from the address,
    a call from the number, a chat visitor, a Messenger user. Merging contacts moves them."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=254)  # normalized (`identities.normalize`)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind", "value"], name="identity_unique")]
        indexes = [models.Index(fields=["contact", "kind"], name="identity_contact")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class TimelineEntry(models.Model):
    """One thing on a contact's timeline, written by the action that did it (a conversation
    started, a note, a ticket changed …), so a page of the timeline is one indexed query. What it
    is about is named by `subject_type` and `subject_id`; `title` and `data` are what the row
    shows, copied when written (never a hidden message's text)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=40)  # "conversation.started", "note", "task", …
    at = models.DateTimeField(default=now)
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    subject_type = models.CharField(max_length=40, blank=True)  # "conversation", "ticket", …
    subject_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-at", "-id"], name="timeline_page"),
            models.Index(fields=["subject_type", "subject_id"], name="timeline_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d}"


class PropertyType(models.TextChoices):
    TEXT = "text", _("Text")
    MULTILINE = "multiline", _("Multi-line text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    DROPDOWN = "dropdown", _("Dropdown")
    CHECKBOX = "checkbox", _("Checkbox")


class PropertyDefinition(models.Model):
    """A custom property of contacts or companies, defined in settings: its values live in the
    object's `properties` by `key`, checked by `properties.clean_value`."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    object_type = models.CharField(max_length=16, default="contact")  # "contact", "company"
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=PropertyType.choices)
    options = models.JSONField(default=list, blank=True)  # a dropdown's [{"value", "label"}]
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "object_type", "key"], name="property_key_unique")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class PropertyChange(models.Model):
    """Who changed which property of a contact from what to what ("property history"). Kept with
    the contact (deleted with it): the audit log names only the fields."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="property_changes")
    key = models.CharField(max_length=60)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["contact", "-at", "-id"], name="property_history")]

    def __str__(self) -> str:
        return f"{self.key} {self.at:%Y-%m-%d}"


class ContactSearchToken(models.Model):
    """A word of a contact (name, address, number, company), folded (`search.fold`): a search term
    is a prefix of one, found by a range on this index on both databases."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(
                fields=["account", "token"], name="contact_token", opclasses=["int8_ops", "varchar_pattern_ops"]
            ),
            models.Index(fields=["contact"], name="contact_token_contact"),
        ]

    def __str__(self) -> str:
        return self.token


class Note(models.Model):
    """A teammate's note about a contact (on its timeline)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.text[:40]


class Task(models.Model):
    """Something to do about a contact, by its owner, perhaps by a moment (on its timeline)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["owner", "done_at", "due_at"], name="task_owner_due")]

    def __str__(self) -> str:
        return self.title


class PipelineKind(models.TextChoices):
    TICKET = "ticket", _("Tickets")
    DEAL = "deal", _("Deals")


class Pipeline(models.Model):
    """Ordered stages a ticket or a deal moves through (the one engine both use, `pipelines`)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=PipelineKind.choices)
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["account", "kind", "position"], name="pipeline_kind")]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """A step of a pipeline, in `position` order. `is_closed`: a ticket here is closed (a deal
    won or lost); `probability`: a deal's chance of being won here, in per cent."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_closed = models.BooleanField(default=False)
    probability = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Waiting for its columns")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ContactImport(models.Model):
    """A CSV file of contacts being imported (D1): uploaded, its columns mapped to properties,
    then read in the background a chunk at a time (`imports.run`), resumable from `processed`
    after a crash. Rows that cannot be imported are kept in an error report (a CSV file)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.CharField(max_length=300)  # storage name of the upload
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=16, default="utf-8")
    delimiter = models.CharField(max_length=1, default=",")
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)  # column index (as text) → property key
    duplicates = models.CharField(max_length=8, default="skip")  # "update" or "skip"
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    processed = models.PositiveIntegerField(default=0)  # rows read (and committed) so far
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    estimated_rows = models.PositiveIntegerField(default=0)
    errors_file = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=500, blank=True)  # why the whole import stopped, if it did
    created_at = models.DateTimeField(default=now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.filename

    @property
    def encoding_label(self) -> str:
        return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}.get(self.encoding, self.encoding)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.estimated_rows:
            return 0
        return min(99, self.processed * 100 // self.estimated_rows)


class ContactImportError(models.Model):
    """A row of an import that was not imported, and why (the downloadable error report)."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField()  # the row's number in the file (the header is row 1)
    message = models.CharField(max_length=500)
    cells = models.JSONField(default=list)  # what the row held (cut to the mapped columns' bounds)

    class Meta:
        ordering = ["row", "id"]

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class LoggedActivity(models.Model):
    """A call or a meeting with the contact that happened outside Samtale, logged by a teammate
    (on the contact's timeline)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=8, choices=ActivityKind.choices)
    title = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices, blank=True)
    at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    author = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d}"


class ObjectType(models.Model):
    """A kind of record an account keeps beside its contacts (custom objects, D3): subscriptions,
    devices, contracts … Its properties are `PropertyDefinition`s of object type `obj:<id>`; the
    one named by `label_key` names each record."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    singular = models.CharField(max_length=60)
    plural = models.CharField(max_length=60)
    label_key = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["plural", "id"]

    def __str__(self) -> str:
        return self.plural

    @property
    def property_scope(self) -> str:
        return f"obj:{self.pk}"


class CustomRecord(models.Model):
    """A record of a custom object type, associated with contacts and companies."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    type = models.ForeignKey(ObjectType, on_delete=models.CASCADE, related_name="records")
    properties = models.JSONField(default=dict, blank=True)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="custom_records")
    companies = models.ManyToManyField(Company, blank=True, related_name="custom_records")
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["type", "-created_at", "-id"], name="record_type_created")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        value = self.properties.get(self.type.label_key) if self.type.label_key else None
        return str(value) if value not in (None, "") else f"{self.type.singular} #{self.pk}"
