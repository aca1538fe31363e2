public enum T {}
