/// What a search runs over; it decides which keys are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Runs,
    Experiments,
    LoggedModels,
    RegisteredModels,
    ModelVersions,
    Traces,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Compare(Comparison),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub key: Key,
    pub op: CompareOp,
    pub value: Literal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Metric(String),
    Param(String),
    Tag(String),
    Attribute(Attribute),
    Dataset(DatasetField),
    /// A trace's request metadata (`metadata.key`).
    Metadata(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    // Runs.
    RunId,
    RunName,
    Status,
    StartTime,
    EndTime,
    UserId,
    ArtifactUri,
    LifecycleStage,
    // Experiments.
    Name,
    ExperimentId,
    CreationTime,
    LastUpdateTime,
    // Logged models.
    ModelId,
    SourceRunId,
    ModelStatus,
    ModelType,
    // Model versions.
    VersionNumber,
    SourcePath,
    // Traces.
    TraceId,
    ClientRequestId,
    ExecutionTime,
}

impl Attribute {
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Attribute::StartTime
                | Attribute::EndTime
                | Attribute::CreationTime
                | Attribute::LastUpdateTime
                | Attribute::VersionNumber
                | Attribute::ExecutionTime
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetField {
    Name,
    Digest,
    Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Like => "LIKE",
            CompareOp::ILike => "ILIKE",
            CompareOp::In => "IN",
            CompareOp::NotIn => "NOT IN",
            CompareOp::IsNull => "IS NULL",
            CompareOp::IsNotNull => "IS NOT NULL",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(f64),
    List(Vec<String>),
    /// The right side of `IS NULL` / `IS NOT NULL`.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub key: Key,
    pub ascending: bool,
}
