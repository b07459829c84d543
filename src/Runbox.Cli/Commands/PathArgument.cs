using System.CommandLine;

namespace Runbox.Cli.Commands;

/// <summary>
/// An argument that names one job, key or runtime in the request's path. An empty one is refused as a parse error
/// (exit 2): the path would then name the whole list, whose answer is no single job. So are "." and "..", which URL
/// resolution removes with the segment before: <c>jobs get .</c> asked for the list, <c>jobs logs ..</c> for a job named "logs".
/// </summary>
internal static class PathArgument
{
    public static Argument<string> Create(string name, string what, string description)
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(result =>
        {
            if (result.Tokens.Any(token => string.IsNullOrWhiteSpace(token.Value)))
            {
                result.AddError($"the {what} must not be empty");
            }
            else if (result.Tokens.FirstOrDefault(token => token.Value is "." or "..") is { } dots)
            {
                result.AddError($"the {what} cannot be '{dots.Value}'");
            }
        });
        return argument;
    }
}
