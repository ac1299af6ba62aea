"""A contract for import-linter: no app imports another app's private names.

A name is private when it starts with one underscore (`_entry_hash`, `_Import`); a module is
private the same way. Such a name may be imported within its own top-level package only: an app
that needs another's helper asks for a public one.
"""

import ast
import importlib.util

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _source(module: str) -> str | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    with open(spec.origin, encoding="utf-8") as file:
        return file.read()


def private_imports(module: str, source: str) -> list[tuple[int, str, str]]:
    """(line, imported module, private name) for each private name `module` imports from
    another top-level package."""
    own = module.split(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == own:
                continue
            parts = node.module.split(".")
            found += [(node.lineno, node.module, part) for part in parts if _is_private(part)]
            found += [
                (node.lineno, node.module, alias.name)
                for alias in node.names
                if _is_private(alias.name)
            ]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] != own and any(_is_private(part) for part in parts):
                    found.append((node.lineno, alias.name, alias.name))
    return found


class PrivateNamesContract(Contract):
    """Options: `packages`, the top-level packages whose modules are checked."""

    type_name = "private_names"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        broken = []
        for package in self.packages:
            for module in sorted({package, *graph.find_descendants(package)}):
                source = _source(module)
                if source is None:
                    continue
                broken += [
                    (module, line, imported, name)
                    for line, imported, name in private_imports(module, source)
                    if imported.split(".")[0] in self.packages
                ]
        return ContractCheck(kept=not broken, warnings=[], metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Private names imported from another app:", bold=False)
        output.new_line()
        for module, line, imported, name in check.metadata["broken"]:
            output.print_error(f"- {module} (l.{line}) imports {name} from {imported}", bold=False)
            output.new_line()
