using System.Collections;
using System.ComponentModel;
using System.Reflection;

namespace Runbox.Server.Configuration;

/// <summary>
/// Settings under <c>Runbox</c> whose value does not convert to its type (<c>--Runbox:Workers=abc</c>). The binder
/// throws at the first one, which hid every other error of the configuration: each is found here instead, so a start
/// lists them all, the validator's findings about the settings that did convert included.
/// </summary>
internal static class UnconvertibleSettings
{
    /// <summary>One message per value that does not convert, worded as the binder words it; keyed by its path.</summary>
    public static IReadOnlyDictionary<string, string> Find(IConfigurationSection section)
    {
        var found = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        Walk(section, typeof(RunboxOptions), found);
        return found;
    }

    private static void Walk(IConfigurationSection section, Type type, Dictionary<string, string> found)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
        foreach (var child in section.GetChildren())
        {
            var property = properties.Find(p => p.Name.Equals(child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                continue; // UnknownSettings names it.
            }
            var kind = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (kind.IsClass && kind != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(kind))
            {
                Walk(child, kind, found);
                continue;
            }
            // An empty value is left to the binder, which leaves the default in place.
            if (kind == typeof(string) || string.IsNullOrEmpty(child.Value))
            {
                continue;
            }
            try
            {
                _ = TypeDescriptor.GetConverter(kind).ConvertFromInvariantString(child.Value);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException)
            {
                found[child.Path] = $"Failed to convert configuration value '{child.Value}' at '{child.Path}' to type '{kind.FullName}'.";
            }
        }
    }
}
