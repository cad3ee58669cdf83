"""A long list of values as one SQL parameter: `field__any_of=[...]`.

Django's `__in` binds and prepares one parameter per value: with 1,000 values,
twice per API call, that was a third of an events call. One JSON array parameter
costs the same whatever the length, and never meets SQLite's limit on parameters
per statement.

On PostgreSQL the list becomes an array computed once, `field = ANY(ARRAY(…))`,
which an index scan takes as its condition whatever the table's statistics say.
It was `field IN (SELECT …)` before, a join: while a launch filled
canvas_enrollment faster than autovacuum re-analyzed it, the planner believed
the table empty, made it the outer side, and compared each of a million
enrollments with each of the 5,000 ids of an engine chunk (a statement that ran
past the worker's 60-second timeout, over and over).
"""

import json

from django.db.models import CharField, Field, ForeignObject, Lookup, TextField


@Field.register_lookup
@ForeignObject.register_lookup  # keys keep a lookup list of their own
class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False  # a list of values, passed as one JSON parameter

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        payload = json.dumps(list(self.rhs))
        if connection.vendor == "postgresql":
            text = isinstance(self.lhs.output_field, CharField | TextField)
            of = "text" if text else "bigint"
            return (
                f"{lhs} = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)::{of}))",
                [*lhs_params, payload],
            )
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, payload]  # noqa: S608 - lhs is a column
