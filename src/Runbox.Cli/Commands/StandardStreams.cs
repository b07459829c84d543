namespace Runbox.Cli.Commands;

/// <summary>
/// Standard streams the shell closed (<c>&gt;&amp;-</c>, <c>2&gt;&amp;-</c>, <c>&lt;&amp;-</c>). The .NET runtime opens
/// pipes of its own before any command runs, and those take the lowest free descriptors: a closed stdout is then one of
/// the runtime's pipes, and writing to it failed with an unhandled exception (stdin: reading it hung for ever). Such a
/// descriptor was not inherited, so it has close-on-exec set, which no stream a shell hands over can have.
/// </summary>
internal static class StandardStreams
{
    /// <summary>Read once, when first asked (any descriptor opened since is close-on-exec too): true when stdin was closed.</summary>
    public static bool InputClosed { get; } = IsClosed(0);

    /// <summary>What is piped or redirected in, for the script; false for a closed stdin, which holds nothing.</summary>
    public static bool InputRedirected => !InputClosed && Console.IsInputRedirected;

    /// <summary>
    /// Why no command can run: stdout or stderr closed, where what it prints would go into a descriptor of the
    /// runtime's own. Null when both are open. A closed stdin is no reason: a command that needs it says so.
    /// </summary>
    public static string? Refusal()
    {
        var closed = new[] { (1, "stdout", ">&-"), (2, "stderr", "2>&-") }.Where(s => IsClosed(s.Item1)).ToList();
        return closed.Count == 0
            ? null
            : $"runbox: {string.Join(" and ", closed.Select(s => $"{s.Item2} is closed ({s.Item3})"))}: redirect it to /dev/null or a file instead";
    }

    /// <summary>
    /// Where the refusal can be read: stderr when it is open, else stdout (nothing else is printed there then).
    /// </summary>
    public static TextWriter RefusalWriter() => IsClosed(2) ? Console.Out : Console.Error;

    private static bool IsClosed(int fd)
    {
        if (!Directory.Exists("/proc/self/fdinfo"))
        {
            return false;
        }
        try
        {
            // "flags:\t02100002": octal, with O_CLOEXEC (02000000) for a descriptor this process opened itself.
            var flags = File.ReadLines($"/proc/self/fdinfo/{fd}").FirstOrDefault(l => l.StartsWith("flags:", StringComparison.Ordinal));
            return flags is not null && (Convert.ToInt64(flags["flags:".Length..].Trim(), 8) & CloseOnExec) != 0;
        }
        catch (FileNotFoundException)
        {
            // No such descriptor at all.
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return false;
        }
    }

    private const long CloseOnExec = 0x80000; // O_CLOEXEC, 02000000 octal
}
