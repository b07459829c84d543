import sys

print("unicode: héllo ✓ 日本")
sys.stdout.flush()
sys.stdout.buffer.write(b"raw: \xff\xfe\x00 end\n")
sys.stdout.buffer.flush()
print("after raw", file=sys.stderr)
