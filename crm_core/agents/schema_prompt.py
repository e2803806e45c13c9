"""The org schema as agents read it: objects, fields, types, references and descriptions.

Built from :func:`crm_core.org.metadata.describe_org`, the same describe records that drive the
query engine, so the prompt never names a field the engine rejects.
"""

from __future__ import annotations

from functools import cache

from crm_core.org.metadata import FieldDescribe, describe_org


def _field_line(field: FieldDescribe) -> str:
    kind = field.type
    if field.reference_to:
        kind = f"reference to {field.reference_to}"
        if field.relationship_name:
            kind += f", relationship {field.relationship_name}"
    notes = []
    if field.picklist_values:
        notes.append("values: " + ", ".join(field.picklist_values))
    if not field.filterable:
        notes.append("cannot be filtered, sorted or grouped")
    suffix = f" [{'; '.join(notes)}]" if notes else ""
    return f"  - {field.name} ({kind}): {field.description}{suffix}"


@cache
def schema_text() -> str:
    """The schema section of every system prompt (the same text for every framework)."""
    objects = describe_org()
    lines = ["The objects available in the Salesforce instance are: " + ", ".join(objects) + ".", ""]
    lines.append("The fields of each object, with their types, references and descriptions:")
    for obj in objects.values():
        label = f" ({obj.label})" if obj.label != obj.name else ""
        lines.append(f"{obj.name}{label}: {obj.description}")
        lines.extend(_field_line(f) for f in obj.fields)
        if obj.child_relationships:
            children = ", ".join(f"{c.name} ({c.child_object}.{c.field})" for c in obj.child_relationships)
            lines.append(f"  child relationships: {children}")
    return "\n".join(lines)
