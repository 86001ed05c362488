#[leakcheck_rt::leak_test]
fn type_parameter<T: Default>() {
    let _ = T::default();
}

#[leakcheck_rt::leak_test]
fn lifetime<'a>() {}

#[leakcheck_rt::leak_test]
fn where_clause()
where
    u8: Copy,
{
}

fn main() {}
