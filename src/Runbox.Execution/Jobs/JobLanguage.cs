namespace Runbox.Execution.Jobs;

public enum JobLanguage
{
    Python,
    Bash,
    Node,
}

public static class JobLanguageExtensions
{
    public static string ToWire(this JobLanguage language) => language switch
    {
        JobLanguage.Bash => "bash",
        JobLanguage.Node => "node",
        _ => "python",
    };

    /// <summary>Accepts the wire word and the common aliases (<c>python3</c>, <c>sh</c>, <c>javascript</c>, ...).</summary>
    public static bool TryParse(string? text, out JobLanguage language)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "python" or "python3" or "py":
                language = JobLanguage.Python;
                return true;
            case "bash" or "sh" or "shell":
                language = JobLanguage.Bash;
                return true;
            case "node" or "nodejs" or "javascript" or "js":
                language = JobLanguage.Node;
                return true;
            default:
                language = JobLanguage.Python;
                return false;
        }
    }

    public static string DefaultEntrypoint(this JobLanguage language) => language switch
    {
        JobLanguage.Bash => "main.sh",
        JobLanguage.Node => "main.js",
        _ => "main.py",
    };
}
