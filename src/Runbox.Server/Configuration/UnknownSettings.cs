using System.Collections;
using System.Reflection;

namespace Runbox.Server.Configuration;

/// <summary>
/// Settings under <c>Runbox</c> that <see cref="RunboxOptions"/> has no property for. The binder drops them without a
/// word, so a misspelt <c>--Runbox:LeaseSecond=5</c> (or a key in appsettings.json) would start a server without it.
/// </summary>
internal static class UnknownSettings
{
    /// <summary>
    /// One message per unknown key, naming the closest setting when one is near. Keys in <paramref name="ignored"/> are
    /// skipped: <c>RUNBOX_*</c> variables share their prefix with the client's (<c>RUNBOX_SERVER</c>, <c>RUNBOX_KEY</c>).
    /// </summary>
    public static IReadOnlyList<string> Find(IConfigurationSection section, IReadOnlySet<string> ignored)
    {
        var found = new List<string>();
        Walk(section, typeof(RunboxOptions), ignored, found);
        return found;
    }

    private static void Walk(IConfigurationSection section, Type type, IReadOnlySet<string> ignored, List<string> found)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
        foreach (var child in section.GetChildren())
        {
            if (ignored.Contains(child.Path) && !child.GetChildren().Any())
            {
                continue;
            }
            var property = properties.Find(p => p.Name.Equals(child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                var near = Closest(child.Key, properties.Select(p => p.Name));
                found.Add($"{child.Path} is not a setting" + (near is null ? "." : $"; did you mean {section.Path}:{near}?"));
                continue;
            }
            var kind = property.PropertyType;
            // Values and lists end the walk; a nested settings class (Maximums, RateLimit, ...) is walked in turn.
            if (kind.IsClass && kind != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(kind))
            {
                Walk(child, kind, ignored, found);
            }
        }
    }

    private static string? Closest(string key, IEnumerable<string> names)
    {
        var best = names.Select(name => (Name: name, Distance: Distance(key.ToLowerInvariant(), name.ToLowerInvariant())))
            .OrderBy(c => c.Distance).FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(2, key.Length / 3) ? best.Name : null;
    }

    /// <summary>Levenshtein distance: edits (insert, delete, replace) from one to the other.</summary>
    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            previous = current;
        }
        return previous[b.Length];
    }
}
