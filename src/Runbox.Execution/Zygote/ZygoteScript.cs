namespace Runbox.Execution.Zygote;

/// <summary>The zygote's Python source, shipped inside this assembly and written out next to its sockets.</summary>
internal static class ZygoteScript
{
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
