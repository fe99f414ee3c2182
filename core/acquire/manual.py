"""What a user must do to get a dataset medhub cannot fetch by itself."""

from __future__ import annotations

from medhub.core.registry import DatasetInfo


def manual_instructions(info: DatasetInfo, reason: str = "") -> str:
    """What a user must do to get a dataset medhub cannot fetch by itself (URL, file names, command)."""
    lines = [reason or f'dataset "{info.id}" cannot be downloaded automatically (access: {info.access}).']
    if info.instructions:
        lines.append(info.instructions.strip())
        if "--file" in info.instructions or "hub link" in info.instructions:  # the card already gives the steps
            for s in info.sources:
                sums = ", ".join(f"{k} {v}" for k, v in (("md5", s.md5), ("sha256", s.sha256)) if v)
                lines.append(f"Expected file: {s.filename}" + (f" ({sums})" if sums else ""))
            return "\n".join(lines)
    where = info.homepage or (info.sources[0].url if info.sources else "")
    if where:
        lines.append(f"1. Get the data from: {where}")
    if info.sources:
        names = ", ".join(s.filename for s in info.sources)
        lines.append(f"2. Save the file(s): {names}")
        for s in info.sources:
            sums = ", ".join(f"{k} {v}" for k, v in (("md5", s.md5), ("sha256", s.sha256)) if v)
            lines.append(f"   {s.filename} ({sums})" if sums else f"   {s.filename}")
        lines.append(f"3. Run: hub download {info.id} --file PATH   (once per file)")
    else:
        lines.append(f"2. Run: hub download {info.id} --file PATH   (with the archive you fetched)")
    lines.append(f"   or, for a copy already extracted: hub link {info.id} DIR")
    return "\n".join(lines)
