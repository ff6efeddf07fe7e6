// The one place the release is written: every executable's --version and the Debian package.
public enum StadiumVersion {
    public static let current = "0.1.0"
}
