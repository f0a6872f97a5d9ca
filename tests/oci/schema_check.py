#!/usr/bin/python3
"""Validate OCI runtime-spec config.json files against the spec's JSON schema.

  schema_check.py SCHEMA_DIR FILE...        every FILE must validate
  schema_check.py --examples SCHEMA_DIR DIR  DIR/good/*.json must validate,
                                             DIR/bad/*.json must not

SCHEMA_DIR is the spec's schema/ folder (config-schema.json and the files
it references by $ref, draft-04), the base for $ref. Uses Debian's
python3-jsonschema: run with /usr/bin/python3. Prints one line per file
and exits 1 when any file does not behave as it should.
"""
import glob
import json
import os
import sys

import jsonschema


def validator(schema_dir):
    schema_dir = os.path.abspath(schema_dir)
    with open(os.path.join(schema_dir, "config-schema.json")) as f:
        schema = json.load(f)
    resolver = jsonschema.RefResolver(base_uri="file://" + schema_dir + "/", referrer=schema)
    return jsonschema.Draft4Validator(schema, resolver=resolver)


def problem(v, path):
    """None when path validates, else why not (one line)."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return "not JSON: %s" % e
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    e = errors[0]
    where = "/".join(str(p) for p in e.absolute_path) or "(top)"
    return "%s: %s" % (where, e.message.splitlines()[0][:200])


def main(argv):
    if len(argv) >= 4 and argv[1] == "--examples":
        v = validator(argv[2])
        failed = 0
        good = sorted(glob.glob(os.path.join(argv[3], "good", "*.json")))
        bad = sorted(glob.glob(os.path.join(argv[3], "bad", "*.json")))
        if not good or not bad:
            print("schema_check: no good/ or bad/ examples under %s" % argv[3])
            return 1
        for path in good:
            why = problem(v, path)
            print("%s good %s%s" % ("ok  " if why is None else "FAIL", os.path.basename(path),
                                    "" if why is None else ": " + why))
            failed += why is not None
        for path in bad:
            why = problem(v, path)
            print("%s bad  %s%s" % ("ok  " if why is not None else "FAIL", os.path.basename(path),
                                    ": refused: " + why if why else ": accepted"))
            failed += why is None
        return 1 if failed else 0
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    v = validator(argv[1])
    failed = 0
    for path in argv[2:]:
        why = problem(v, path)
        print("%s %s%s" % ("ok  " if why is None else "FAIL", path, "" if why is None else ": " + why))
        failed += why is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
