"""Registry import and screening at scale: 10M registry numbers, 1M contacts screened.

    .venv/bin/python bench/consent_screening.py                 # full size (10M / 1M)
    .venv/bin/python bench/consent_screening.py --scale 0.01    # 100k / 10k, a quick check
    .venv/bin/python bench/consent_screening.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench

Prints numbers per second for the streamed import, for bulk screening (registries.screen) and
for the pure decide(); and the process's peak resident memory, which must stay flat as the
registry grows (the import holds one batch, never the file).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import sessionmaker

from app.consent import registries
from app.consent.decide import Facts, decide
from app.consent.packs import load_packs
from app.db import Base, import_models, make_engine

AT = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def number(rng: random.Random) -> int:
    """A plausible US national number: area code and exchange not starting with 0/1."""
    return rng.randint(200, 999) * 10_000_000 + rng.randint(2_000_000, 9_999_999)


def write_registry(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="ascii") as out:
        for _ in range(count):
            out.write(f"{number(rng)}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 10M registry / 1M contacts")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--window", type=int, default=registries.WINDOW, help="numbers sorted per pass")
    args = parser.parse_args()
    registry_size, contacts = int(10_000_000 * args.scale), int(1_000_000 * args.scale)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        import_models()
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        factory = sessionmaker(engine)
        path = Path(tmp) / "us_dnc.txt"
        started = time.perf_counter()
        write_registry(path, registry_size, seed=1)
        print(f"wrote {registry_size:,} numbers ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f}s; "
              f"peak RSS so far {peak_mb():.0f} MB")

        with factory() as session:
            started = time.perf_counter()
            # Random area codes include unassigned ones, which the import refuses: allow them here.
            report = registries.import_registry(session, "US", path, at=AT, window=args.window,
                                                max_refused_percent=100)
            session.commit()
            elapsed = time.perf_counter() - started
        print(f"import: {report.numbers:,} stored ({report.duplicates:,} duplicates) in {elapsed:.1f}s = "
              f"{registry_size / elapsed:,.0f} numbers/s; peak RSS {peak_mb():.0f} MB")

        # Half the contacts are on the registry (same seed), half are fresh numbers.
        listed_rng, fresh_rng = random.Random(1), random.Random(2)
        numbers = [f"+1{number(listed_rng if i % 2 == 0 else fresh_rng)}" for i in range(contacts)]
        with factory() as session:
            started = time.perf_counter()
            hits = registries.screen(session, "US", numbers)
            elapsed = time.perf_counter() - started
        print(f"screen: {contacts:,} contacts, {len(hits):,} listed, in {elapsed:.1f}s = "
              f"{contacts / elapsed:,.0f} numbers/s; peak RSS {peak_mb():.0f} MB")

        pack = load_packs()["US"]
        sample = min(contacts, 200_000)
        facts = [Facts(e164=n, country="US", time_zones=("America/New_York",), purpose="sales", offer_id="fiber",
                       registry_listed=n in hits, registry_obtained_at=AT - timedelta(days=1))
                 for n in numbers[:sample]]
        started = time.perf_counter()
        allowed = sum(decide(f, pack, AT).allowed for f in facts)
        elapsed = time.perf_counter() - started
        print(f"decide: {sample:,} decisions ({allowed:,} allowed) in {elapsed:.1f}s = {sample / elapsed:,.0f} decisions/s")
        print(f"peak RSS {peak_mb():.0f} MB")
        engine.dispose()


if __name__ == "__main__":
    main()
