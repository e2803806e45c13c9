"""Describe results in the REST API's shapes, built from :mod:`crm_core.org.metadata`.

The describe reflects what the API's users may do: every object is queryable, searchable and
retrievable, and nothing is createable, updateable or deletable (the org is read-only).
"""

from __future__ import annotations

from typing import Any

from crm_core.org.metadata import FieldDescribe, ObjectDescribe, describe_org

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}
_UNPLURAL = {"Knowledge"}


def _plural(label: str) -> str:
    if label in _UNPLURAL:
        return label
    if label.endswith("y") and label[-2:-1] not in "aeiou":
        return label[:-1] + "ies"
    return label + "s"


def _is_custom(name: str) -> bool:
    return name.endswith("__c") or name.endswith("__kav") or name.endswith("__r")


def _object_urls(obj: ObjectDescribe, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _summary(obj: ObjectDescribe, version: str) -> dict[str, Any]:
    return {
        "activateable": False,
        "createable": False,
        "custom": _is_custom(obj.name),
        "customSetting": False,
        "deletable": False,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": _plural(obj.label),
        "layoutable": True,
        "mergeable": False,
        "mruEnabled": False,
        "name": obj.name,
        "queryable": True,
        "replicateable": False,
        "retrieveable": True,
        "searchable": True,
        "triggerable": False,
        "undeletable": False,
        "updateable": False,
        "urls": _object_urls(obj, version),
    }


def describe_global(version: str) -> dict[str, Any]:
    """``GET sobjects``: the list of objects."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_summary(obj, version) for obj in describe_org().values()],
    }


def object_info(obj: ObjectDescribe, version: str) -> dict[str, Any]:
    """``GET sobjects/{Object}``: the object's summary and (always empty) recent items."""
    return {"objectDescribe": _summary(obj, version), "recentItems": []}


def _field(field: FieldDescribe) -> dict[str, Any]:
    is_id = field.type == "id"
    return {
        "aggregatable": field.aggregatable,
        "autoNumber": False,
        "byteLength": (field.length or 0) * 3 if field.length else 0,
        "calculated": False,
        "caseSensitive": False,
        "createable": False,
        "custom": _is_custom(field.name),
        "defaultValue": None,
        "defaultedOnCreate": is_id,
        "dependentPicklist": False,
        "externalId": False,
        "filterable": field.filterable,
        "groupable": field.groupable,
        "htmlFormatted": False,
        "idLookup": is_id,
        "inlineHelpText": field.description or None,
        "label": field.label,
        "length": field.length or 0,
        "name": field.name,
        "nameField": field.name_field,
        "nillable": field.nillable,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": value, "validFor": None, "value": value}
            for value in field.picklist_values
        ],
        "referenceTo": [field.reference_to] if field.reference_to else [],
        "relationshipName": field.relationship_name,
        "restrictedPicklist": False,
        "soapType": _SOAP_TYPES.get(field.type, "xsd:string"),
        "sortable": field.sortable,
        "type": field.type,
        "unique": is_id,
        "updateable": False,
    }


def describe_object(obj: ObjectDescribe, version: str) -> dict[str, Any]:
    """``GET sobjects/{Object}/describe``: fields, child relationships and urls."""
    result = _summary(obj, version)
    result.update(
        {
            "childRelationships": [
                {
                    "cascadeDelete": False,
                    "childSObject": rel.child_object,
                    "deprecatedAndHidden": False,
                    "field": rel.field,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": rel.name,
                    "restrictedDelete": False,
                }
                for rel in obj.child_relationships
            ],
            "fields": [_field(field) for field in obj.fields],
            "recordTypeInfos": [],
            "supportedScopes": [{"label": "All", "name": "everything"}],
        }
    )
    return result
