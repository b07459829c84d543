namespace Runbox.Execution.Jobs;

/// <summary>Which interpreter runs a job's script.</summary>
public enum JobLanguage
{
    /// <summary>The runtime's Python: on the zygote's fast path, or a fresh interpreter (<see cref="JobRequest.Fresh"/>).</summary>
    Python,
    /// <summary><see cref="Engine.EngineOptions.BashPath"/> (default /bin/bash).</summary>
    Bash,
    /// <summary>Node.js: <see cref="Engine.EngineOptions.NodePath"/>, else <c>node</c> on PATH.</summary>
    Node,
}

/// <summary>The words for <see cref="JobLanguage"/> and its default entry points.</summary>
public static class JobLanguageExtensions
{
    /// <summary>The word used on every wire format: <c>python</c>, <c>bash</c> or <c>node</c>.</summary>
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

    /// <summary>The file a <see cref="JobRequest.Script"/> runs as when no <see cref="JobRequest.Entrypoint"/> is given.</summary>
    public static string DefaultEntrypoint(this JobLanguage language) => language switch
    {
        JobLanguage.Bash => "main.sh",
        JobLanguage.Node => "main.js",
        _ => "main.py",
    };
}
