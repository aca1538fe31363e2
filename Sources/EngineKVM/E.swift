public enum E {}
