"""Evidence upload: time and peak memory to refuse a 169-megapixel PNG and to accept a phone photo.

    .venv/bin/python bench/upload.py [--repeats 5] [--with-old]

The inputs are written to a temporary directory first; each case then runs
`campaigns.photos.prepare_photo` in a fresh process, so the process's peak RSS (ru_maxrss) belongs to
that case alone; "added" is the peak minus the peak after imports and reading the file. The bomb is a
real, decodable 13,000 × 13,000 1-bit PNG of ~20 KB; the photo a 12-megapixel JPEG of a few MB.
`--with-old` also measures the previous approach (decode, then shrink) on the same bomb, to show what
the header check saves.
"""

import argparse
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_png(side: int = 13_000) -> bytes:
    """A black 1-bit PNG of side × side pixels, compressed as zlib allows (~20 KB for 169 MP)."""
    row = b"\0" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 100) for _ in range(side // 100))
    idat += compressor.compress(row * (side % 100)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def phone_photo() -> bytes:
    """A 12-megapixel JPEG (4000 × 3000) with texture, the size a mid-range phone sends."""
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((4000, 3000))
    noise = Image.effect_noise((4000, 3000), 12)
    image = Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_case(case: str, path: Path, repeats: int) -> dict:
    """In this (fresh) process: read the input, then time `repeats` calls of the case."""
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("HASH_KEY", "bench")
    from PIL import Image, ImageOps

    from app import create_app
    from campaigns.photos import PhotoRefused, prepare_photo

    data = path.read_bytes()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    def old_way() -> None:
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((1600, 1600))
            upright.convert("RGB")

    Image.MAX_IMAGE_PIXELS = None  # the old code ran with Pillow's warning only, below its error limit
    outcome = ""
    samples = []
    baseline = _peak_mib()
    with app.test_request_context():
        for _ in range(repeats):
            started = time.perf_counter()
            try:
                if case == "old-decode-bomb":
                    old_way()
                    outcome = "decoded"
                else:
                    prepare_photo(data)
                    outcome = "accepted"
            except PhotoRefused as refusal:
                outcome = f"refused: {refusal}"
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "case": case,
        "input_kib": round(len(data) / 1024, 1),
        "median_ms": round(samples[len(samples) // 2], 2),
        "max_ms": round(samples[-1], 2),
        "baseline_mib": round(baseline, 1),
        "peak_mib": round(_peak_mib(), 1),
        "added_mib": round(_peak_mib() - baseline, 1),
        "outcome": outcome,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--with-old", action="store_true", help="also decode the bomb the old way (~2 GB)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.input, args.repeats)))
        return
    folder = Path(tempfile.mkdtemp(prefix="thidua-bench-upload-"))
    inputs = {"bomb": folder / "bomb.png", "photo": folder / "photo.jpg"}
    inputs["bomb"].write_bytes(huge_png())
    inputs["photo"].write_bytes(phone_photo())
    cases = ["refuse-bomb", "accept-photo"] + (["old-decode-bomb"] if args.with_old else [])
    print(f"{'case':<16} {'input KiB':>10} {'median ms':>10} {'max ms':>9} {'peak MiB':>9} {'added MiB':>10}  outcome")
    for case in cases:
        repeats = 1 if case == "old-decode-bomb" else args.repeats
        source = "photo" if case == "accept-photo" else "bomb"
        child = subprocess.run(
            [sys.executable, __file__, "--case", case, "--repeats", str(repeats), "--input", str(inputs[source])],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"{row['case']:<16} {row['input_kib']:>10} {row['median_ms']:>10} {row['max_ms']:>9} "
            f"{row['peak_mib']:>9} {row['added_mib']:>10}  {row['outcome']}"
        )


if __name__ == "__main__":
    main()
