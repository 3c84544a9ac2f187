"""Time sign-in for a registered email and an unknown one: both should cost one password hash.

    python bench/sign_in_bench.py               # 30 attempts each, SQLite in a temporary folder
    python bench/sign_in_bench.py --rounds 100

Before issue 13 a wrong password for a registered email took about 100 ms and an unknown email about 6 ms,
which told an attacker who is registered. Prints the median, minimum and maximum of each; not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from portal import create_app  # noqa: E402
from portal.accounts import actions  # noqa: E402
from portal.extensions import db  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "INSTANCE_PATH": folder,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        actions.create_user(email="known@example.cn", password="Shujukaifang-2026", display_name="甲")
        db.session.commit()
        client = app.test_client()
        emails = ("known@example.cn", "unknown@example.cn")
        times: dict[str, list[float]] = {email: [] for email in emails}
        for _ in range(args.rounds):
            for email in emails:  # interleaved, so that load from elsewhere falls on both alike
                started = time.perf_counter()
                response = client.post("/account/sign-in", data={"email": email, "password": "wrong-pass-1"})
                times[email].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 400
    for email, spent in times.items():
        median = statistics.median(spent)
        print(f"{email:20} median {median:6.1f} ms  min {min(spent):6.1f}  max {max(spent):6.1f}")


if __name__ == "__main__":
    main()
