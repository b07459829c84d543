namespace Runbox.Execution.Zygote;

/// <summary>The zygote's Python source, shipped inside this assembly and written out next to its sockets.</summary>
internal static class ZygoteScript
{
    /// <summary>
    /// Run with <c>python -c</c> and the script's path: compiles the zygote in a child and runs the compiled code.
    /// Compiling in the zygote itself would leave the parser's scratch memory (megabytes) in its heap, and every
    /// page of that heap is copied into each init's and each job's page tables at every fork and torn down at every
    /// exit. Falls back to compiling in place if the child could not.
    /// </summary>
    public const string Bootstrap = """
        import marshal, os, sys
        path = sys.argv[1]
        sys.argv = sys.argv[1:]
        def compiled():
            with open(path, "rb") as f:
                return compile(f.read(), path, "exec", dont_inherit=True)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                data = marshal.dumps(compiled())
                while data:
                    data = data[os.write(w, data):]
            finally:
                os._exit(0)
        os.close(w)
        chunks = []
        while True:
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(r)
        os.waitpid(pid, 0)
        try:
            code = marshal.loads(b"".join(chunks))
        except (EOFError, ValueError, TypeError):
            code = compiled()
        del chunks
        exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__})
        """;

    private static readonly Lazy<byte[]> Source = new(() =>
    {
        using var stream = typeof(ZygoteScript).Assembly.GetManifestResourceStream("Runbox.Execution.zygote.py")
            ?? throw new InvalidOperationException("zygote.py is missing from the Runbox.Execution assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>Writes the script into <paramref name="directory"/> (only when changed) and returns its path.</summary>
    public static string WriteTo(string directory)
    {
        var path = Path.Combine(directory, "zygote.py");
        if (!File.Exists(path) || !File.ReadAllBytes(path).AsSpan().SequenceEqual(Source.Value))
        {
            var temp = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(temp, Source.Value);
            File.Move(temp, path, overwrite: true);
        }
        return path;
    }
}
